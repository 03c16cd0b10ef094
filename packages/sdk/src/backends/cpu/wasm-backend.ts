import { EdgeLMError } from '../../errors.js';
import {
  GGMLType,
  isSupportedType,
  parseTypeName,
  type GGMLType as Supported,
} from '../../formats/ggml-types.js';
import { dequantize } from '../../formats/quant/index.js';
import type { ModelConfig } from '../../model/config.js';
import type { ModelFile } from '../../model/model-file.js';
import { Sampler } from '../../sampler/sample.js';
import type { Backend, SampleRequest, SequenceStep, StepLogits } from '../backend.js';
import type { CpuBackendOptions } from './cpu-backend.js';
import type { CpuMatrix } from './matrix.js';
import { WasmHeap } from './wasm/heap.js';
import { type ActivationKind, CPU_KERNEL_TYPES } from './wasm/kernel-types.js';
import { type CpuKernels, instantiateKernels, type MatmulKernel } from './wasm/kernels.js';
import { type CpuLayer, type CpuWeights, checkPages, loadCpuWeights } from './weights.js';

/** Prompt tokens per batched pass: each weight row is read once per chunk, not once per token. */
export const PREFILL_CHUNK = 32;

/** A weight matrix in the heap, in its file's block layout, with the kernel that reads it. */
interface WasmMatrix {
  type: CpuMatrix['type'];
  rows: number;
  cols: number;
  rowBytes: number;
  w: number; // heap offset
  act: ActivationKind; // what its kernel reads: float32, or activations quantized so
  kernel: MatmulKernel;
}

const place = (heap: WasmHeap, k: CpuKernels) => ({
  matrix: (m: CpuMatrix): WasmMatrix => ({
    type: m.type,
    rows: m.rows,
    cols: m.cols,
    rowBytes: m.rowBytes,
    w: heap.store(m.bytes),
    act: CPU_KERNEL_TYPES[m.type],
    kernel: k[`matmul_${m.type}`],
  }),
  vector: (v: Float32Array): number => heap.store(v),
});

/**
 * The CPU backend on WebAssembly SIMD kernels (kernels.wat + gen/): weights in their file's
 * ggml block layout, KV pages and activations live in one linear memory, so a token runs as a
 * few dozen kernel calls that pass offsets and allocate nothing. Quantized weights multiply
 * activations quantized to int16 per 32 in integer dot products (llama.cpp's Q8_0/Q8_K scheme
 * with finer activations); float weights run in float32. A prompt runs in chunks of
 * {@link PREFILL_CHUNK} tokens through each matrix at once. What 'auto' runs without WebGPU.
 */
export class WasmCpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly kernels = 'wasm' as const;
  readonly pageBytes: number;
  private readonly kvDim: number;
  private readonly layerBytes: number; // one layer's share of the K (or V) cache
  // heap offsets, allocated once; C = PREFILL_CHUNK tokens side by side
  private readonly keyCache: number; // (layer, page, slot, kvDim)
  private readonly valueCache: number; // (layer, page, slot, kvDim)
  private readonly x: number; // (C, dim) residual stream
  private readonly xb: number; // (C, max(dim, qDim)) normed input / attention output
  private readonly q: number; // (C, qDim)
  private readonly kb: number; // (C, kvDim) new keys before they go to their cache rows
  private readonly vb: number; // (C, kvDim)
  private readonly hb: number; // (C, hiddenDim)
  private readonly hb2: number; // (C, hiddenDim)
  private readonly att: number; // (nHeads, contextLength) + (nHeads) scores, then 1/Σ
  private readonly xq: number; // (C, width) int16 activations
  private readonly xd: number; // (C, width / 32) their scales
  private readonly xs: number; // (C, width / 16) their sums d·Σq per 16
  private readonly cs: number; // (C, headDim / 2, 2) float64 cos, sin per position
  private readonly pageTable: number; // (contextLength / pageSize) int32
  private readonly logits: number; // (vocab)
  private readonly heapF32: Float32Array;
  private readonly heapU8: Uint8Array;
  private readonly csView: Float64Array;
  private readonly pageView: Int32Array;
  private readonly logitsView: Float32Array;
  private readonly freqs: Float64Array; // RoPE frequencies, as the reference computes them
  private readonly embedType: Supported;
  private readonly sampler = new Sampler();
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly heap: WasmHeap,
    private readonly k: CpuKernels,
    private readonly w: CpuWeights<WasmMatrix, number>,
    readonly pageSize: number,
    readonly pageCount: number,
  ) {
    const c = config;
    const C = PREFILL_CHUNK;
    const qDim = c.nHeads * c.headDim;
    this.kvDim = c.nKvHeads * c.headDim;
    this.pageBytes = c.nLayers * pageSize * this.kvDim * 4 * 2;
    this.layerBytes = pageCount * pageSize * this.kvDim * 4;
    heap.reserve(WasmCpuBackend.scratchBytes(c, pageSize, pageCount));
    this.keyCache = heap.alloc(c.nLayers * this.layerBytes);
    this.valueCache = heap.alloc(c.nLayers * this.layerBytes);
    const width = Math.ceil(Math.max(c.dim, qDim, c.hiddenDim) / 32) * 32;
    this.x = heap.alloc(C * c.dim * 4);
    this.xb = heap.alloc(C * Math.max(c.dim, qDim) * 4);
    this.q = heap.alloc(C * qDim * 4);
    this.kb = heap.alloc(C * this.kvDim * 4);
    this.vb = heap.alloc(C * this.kvDim * 4);
    this.hb = heap.alloc(C * c.hiddenDim * 4);
    this.hb2 = heap.alloc(C * c.hiddenDim * 4);
    this.att = heap.alloc(c.nHeads * (c.contextLength + 1) * 4);
    this.xq = heap.alloc(C * width * 2);
    this.xd = heap.alloc(C * (width / 32) * 4);
    this.xs = heap.alloc(C * (width / 16) * 4);
    const half = c.headDim / 2;
    this.cs = heap.alloc(C * half * 16);
    const maxPages = Math.ceil(c.contextLength / pageSize);
    this.pageTable = heap.alloc(maxPages * 4);
    this.logits = heap.alloc(c.vocabSize * 4);
    heap.seal();
    this.heapF32 = new Float32Array(heap.memory.buffer);
    this.heapU8 = new Uint8Array(heap.memory.buffer);
    this.csView = heap.f64(this.cs, C * half * 2);
    this.pageView = heap.i32(this.pageTable, maxPages);
    this.logitsView = heap.f32(this.logits, c.vocabSize);
    this.freqs = Float64Array.from({ length: half }, (_, i) => 1 / c.ropeTheta ** ((2 * i) / c.headDim));
    this.embedType = parseTypeName(w.embedding.type);
  }

  /** Heap bytes past the weights: KV pages and the per-chunk activations (upper bound). */
  private static scratchBytes(c: ModelConfig, pageSize: number, pageCount: number): number {
    const C = PREFILL_CHUNK;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const width = Math.max(c.dim, qDim, c.hiddenDim) + 32;
    const acts = C * (c.dim + Math.max(c.dim, qDim) + qDim + 2 * kvDim + 2 * c.hiddenDim + width) * 4;
    return (
      2 * c.nLayers * pageCount * pageSize * kvDim * 4 +
      acts +
      (c.nHeads + 1) * (c.contextLength + 1) * 4 +
      c.vocabSize * 4 +
      C * c.headDim * 8 +
      4096
    );
  }

  static async create(model: ModelFile, options: CpuBackendOptions = {}): Promise<WasmCpuBackend> {
    const c = model.config;
    if (c.headDim % 2 !== 0 || c.nHeads % c.nKvHeads !== 0) {
      throw new EdgeLMError('CORRUPT', 'Heads do not divide evenly', {
        headDim: c.headDim,
        nHeads: c.nHeads,
        nKvHeads: c.nKvHeads,
      });
    }
    const heap = new WasmHeap();
    // the file's tensors go in as they are: one reservation covers them all
    heap.reserve(model.tensors.reduce((a, t) => a + Math.ceil(t.byteLength / 16) * 16 + 16, 0));
    const kernels = await instantiateKernels(heap.memory);
    const weights = await loadCpuWeights(model, place(heap, kernels), options.onProgress);
    const et = weights.embedding.type;
    if (!isSupportedType(parseTypeName(et))) {
      throw new EdgeLMError('UNSUPPORTED_TYPE', `Cannot read ${et} embedding rows`, { type: et });
    }
    const pageSize = options.pageSize ?? 16;
    const pageCount = options.pageCount ?? Math.ceil(c.contextLength / pageSize) * 4;
    return new WasmCpuBackend(c, heap, kernels, weights, pageSize, pageCount);
  }

  /** Bytes of wasm memory in use (weights, KV pages, activations). */
  get memoryBytes(): number {
    return this.heap.used;
  }

  /** Bytes of weights one decoded token reads: every matrix once, one embedding row, the norms. */
  get weightBytesPerToken(): number {
    const m = (x: WasmMatrix) => x.rows * x.rowBytes;
    const c = this.config;
    let sum = this.w.embedding.rowBytes + m(this.w.wcls) + c.dim * 4;
    for (const l of this.w.layers)
      sum += m(l.wq) + m(l.wk) + m(l.wv) + m(l.wo) + m(l.w1) + m(l.w2) + m(l.w3) + c.dim * 8;
    return sum;
  }

  async forward(steps: SequenceStep[]): Promise<StepLogits> {
    const out: Float32Array[] = [];
    for (const step of steps) {
      const logits = new Float32Array(this.config.vocabSize);
      if (this.run(step)) logits.set(this.logitsView);
      out.push(logits);
    }
    return out;
  }

  /**
   * Samples straight from the logits in wasm memory (the sampler's scratch there is ours), so a
   * decode step neither allocates nor copies a vocabulary-sized array; choices equal
   * `Sampler.sample` on `forward`'s logits.
   */
  async forwardSample(steps: SequenceStep[], sampling: SampleRequest[]): Promise<Int32Array> {
    const next = new Int32Array(steps.length);
    for (let i = 0; i < steps.length; i++) {
      const s = sampling[i]!;
      next[i] = this.run(steps[i]!)
        ? this.sampler.sample(this.logitsView, s.params, s.counter, s.recent)
        : -1;
    }
    return next;
  }

  /** Runs one sequence's tokens; true when the last one's logits are in `logitsView`. */
  private run(step: SequenceStep): boolean {
    if (this.disposed) throw new EdgeLMError('DISPOSED', 'The CPU backend was disposed');
    const { contextLength, vocabSize } = this.config;
    const end = step.startPos + step.tokens.length;
    if (end > contextLength) {
      throw new EdgeLMError(
        'CONTEXT_OVERFLOW',
        `Position ${end - 1} is past the context of ${contextLength}`,
      );
    }
    checkPages(step.pages, end, this.pageSize, this.pageCount);
    const n = step.tokens.length;
    for (let i = 0; i < n; i++) {
      const t = step.tokens[i]!;
      if (!(t >= 0 && t < vocabSize))
        throw new EdgeLMError('INVALID_ARGUMENT', `Token ${t} is not in the vocabulary`);
    }
    for (let i = 0, used = Math.ceil(end / this.pageSize); i < used; i++) this.pageView[i] = step.pages[i]!;
    for (let i = 0; i < n; i += PREFILL_CHUNK) {
      const m = Math.min(PREFILL_CHUNK, n - i);
      this.forwardChunk(step.tokens, i, m, step.startPos + i, i + m === n);
    }
    return n > 0;
  }

  /** out (+)= m · x for n tokens; a quantized m reads x as the last `quantize` left it. */
  private mv(out: number, m: WasmMatrix, x: number, acc: number, n = 1): void {
    if (m.act === 'f32') m.kernel(out, m.w, m.rows, m.cols, x, 0, 0, n, acc);
    else m.kernel(out, m.w, m.rows, m.cols, this.xq, this.xd, this.xs, n, acc);
  }

  /** Quantizes n tokens of `width` activations at x when one of `ms` reads them so. */
  private quantize(
    x: number,
    width: number,
    n: number,
    a?: WasmMatrix,
    b?: WasmMatrix,
    c?: WasmMatrix,
  ): void {
    if (a?.act === 'q16' || b?.act === 'q16' || c?.act === 'q16')
      this.k.quantize_q16(x, width * n, this.xq, this.xd, this.xs);
  }

  /** Token t's embedding row into the residual stream, decoded from its stored type. */
  private embed(token: number, t: number): void {
    const e = this.w.embedding;
    const dim = this.config.dim;
    const to = (this.x >>> 2) + t * dim;
    const at = e.w + token * e.rowBytes;
    if (this.embedType === GGMLType.F32) this.heapF32.copyWithin(to, at >>> 2, (at >>> 2) + dim);
    else
      dequantize(
        this.embedType,
        this.heapU8.subarray(at, at + e.rowBytes),
        dim,
        this.heapF32.subarray(to, to + dim),
      );
  }

  /**
   * Tokens [i, i + n) of `tokens` at positions pos0… through every layer, all n through each
   * matrix at once; the classifier runs only for the last token, when `wantLogits`.
   */
  private forwardChunk(
    tokens: ArrayLike<number>,
    i: number,
    n: number,
    pos0: number,
    wantLogits: boolean,
  ): void {
    const c = this.config;
    const k = this.k;
    const { dim, headDim, nHeads, nKvHeads, hiddenDim, normEps } = c;
    const { kvDim, pageSize, x, xb, q, kb, vb, hb, hb2 } = this;
    const qDim = nHeads * headDim;
    const half = headDim / 2;
    for (let t = 0; t < n; t++) this.embed(tokens[i + t]!, t);
    // each position's cos/sin
    const cs = this.csView;
    for (let t = 0; t < n; t++) {
      for (let j = 0; j < half; j++) {
        const angle = (pos0 + t) * this.freqs[j]!;
        cs[(t * half + j) * 2] = Math.cos(angle);
        cs[(t * half + j) * 2 + 1] = Math.sin(angle);
      }
    }
    const neox = c.ropeStyle === 'neox' ? 1 : 0;
    const scale = 1 / Math.sqrt(headDim);
    const row = (pos: number) =>
      (this.pageView[Math.floor(pos / pageSize)]! * pageSize + (pos % pageSize)) * kvDim * 4;

    for (let l = 0; l < c.nLayers; l++) {
      const lw: CpuLayer<WasmMatrix, number> = this.w.layers[l]!;
      const kLayer = this.keyCache + l * this.layerBytes;
      const vLayer = this.valueCache + l * this.layerBytes;
      // attention rmsnorm, then q, k, v for every token of the chunk
      for (let t = 0; t < n; t++) k.rmsnorm(xb + t * dim * 4, x + t * dim * 4, lw.rmsAtt, dim, normEps);
      this.quantize(xb, dim, n, lw.wq, lw.wk, lw.wv);
      this.mv(q, lw.wq, xb, 0, n);
      this.mv(kb, lw.wk, xb, 0, n);
      this.mv(vb, lw.wv, xb, 0, n);
      for (let t = 0; t < n; t++) {
        const qt = q + t * qDim * 4;
        const kt = kb + t * kvDim * 4;
        const vt = vb + t * kvDim * 4;
        if (lw.bq !== undefined) k.add(qt, lw.bq, qDim);
        if (lw.bk !== undefined) k.add(kt, lw.bk, kvDim);
        if (lw.bv !== undefined) k.add(vt, lw.bv, kvDim);
        k.rope(qt, nHeads, headDim, this.cs + t * half * 16, neox);
        k.rope(kt, nKvHeads, headDim, this.cs + t * half * 16, neox);
        // into this position's cache row
        const r = row(pos0 + t);
        this.heapF32.copyWithin((kLayer + r) >>> 2, kt >>> 2, (kt >>> 2) + kvDim);
        this.heapF32.copyWithin((vLayer + r) >>> 2, vt >>> 2, (vt >>> 2) + kvDim);
      }
      // causal grouped-query attention over the pages (token t sees positions ≤ pos0 + t)
      for (let t = 0; t < n; t++) {
        k.attention(
          xb + t * qDim * 4,
          q + t * qDim * 4,
          kLayer,
          vLayer,
          this.pageTable,
          pageSize,
          kvDim,
          nHeads,
          headDim,
          nHeads / nKvHeads,
          pos0 + t + 1,
          this.att,
          scale,
        );
      }
      // the output projection onto the residual
      this.quantize(xb, qDim, n, lw.wo);
      this.mv(x, lw.wo, xb, 1, n);
      // feed-forward: rmsnorm, SwiGLU, down projection onto the residual
      for (let t = 0; t < n; t++) k.rmsnorm(xb + t * dim * 4, x + t * dim * 4, lw.rmsFfn, dim, normEps);
      this.quantize(xb, dim, n, lw.w1, lw.w3);
      this.mv(hb, lw.w1, xb, 0, n);
      this.mv(hb2, lw.w3, xb, 0, n);
      k.swiglu(hb, hb2, hiddenDim * n);
      this.quantize(hb, hiddenDim, n, lw.w2);
      this.mv(x, lw.w2, hb, 1, n);
    }
    if (!wantLogits) return;
    const last = x + (n - 1) * dim * 4;
    k.rmsnorm(last, last, this.w.rmsFinal, dim, normEps);
    this.quantize(last, dim, 1, this.w.wcls);
    this.mv(this.logits, this.w.wcls, last, 0);
  }

  dispose(): void {
    this.disposed = true;
  }
}
