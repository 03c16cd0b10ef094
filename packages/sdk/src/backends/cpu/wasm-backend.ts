import { EdgeLMError } from '../../errors.js';
import {
  GGMLType,
  isSupportedType,
  parseTypeName,
  type GGMLType as Supported,
} from '../../formats/ggml-types.js';
import { dequantize } from '../../formats/quant/index.js';
import type { ModelConfig } from '../../model/config.js';
import { layerWindow, ropeCosSin } from '../../model/features.js';
import type { ModelFile } from '../../model/model-file.js';
import { geglu, rope, softcap } from '../../reference/ops.js';
import { Sampler } from '../../sampler/sample.js';
import type { Backend, SampleRequest, SequenceStep, StepLogits } from '../backend.js';
import type { CpuBackendOptions } from './cpu-backend.js';
import { pagedAttention } from './paged-attention.js';
import { WasmHeap } from './wasm/heap.js';
import { type ActivationKind, isQuantizedActivation } from './wasm/kernel-types.js';
import { type CpuKernels, instantiateKernels } from './wasm/kernels.js';
import { place, type WasmMatrix } from './wasm-matrix.js';
import { type CpuLayer, type CpuWeights, checkPages, loadCpuWeights } from './weights.js';

/** Prompt tokens per batched pass: each weight row is read once per chunk, not once per token. */
export const PREFILL_CHUNK = 32;

/**
 * The CPU backend on WebAssembly SIMD kernels (kernels.wat + gen/): weights in their file's
 * ggml block layout, KV pages and activations live in one linear memory, so a token runs as a
 * few dozen kernel calls that pass offsets and allocate nothing. Quantized weights multiply
 * activations quantized as llama.cpp's are (Q8_0 per 32, Q8_K per 256, in int16 lanes) in
 * integer dot products; F16/BF16 weights multiply activations rounded to f16/bf16, as llama.cpp's. A prompt runs in chunks of
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
  private readonly xb2: number; // (C, dim) a branch's output before its post-norm (gemma3)
  private readonly q: number; // (C, qDim)
  private readonly kb: number; // (C, kvDim) new keys before they go to their cache rows
  private readonly vb: number; // (C, kvDim)
  private readonly hb: number; // (C, hiddenDim)
  private readonly hb2: number; // (C, hiddenDim)
  private readonly att: number; // (nHeads, contextLength) + (nHeads) scores, then 1/Σ
  private readonly xq: number; // (C, width) int8 activations in int16 lanes
  private readonly xd: number; // (C, width / 32) their scales
  private readonly xs: number; // (C, width / 16) their sums d·Σq per 16
  private readonly xr: number; // (C, width) float activations rounded to f16 / bf16
  private readonly cs: number; // (C, headDim / 2, 2) float64 cos, sin per position
  private readonly pageTable: number; // (contextLength / pageSize) int32
  private readonly logits: number; // (vocab)
  private readonly heapF32: Float32Array;
  private readonly heapU8: Uint8Array;
  private readonly csRows: Float64Array[]; // each chunk position's cos/sin, views made once
  private readonly pageView: Int32Array;
  private readonly logitsView: Float32Array;
  private readonly jsAtt: Float32Array; // scores of the JS attention (sliding windows off a page boundary, soft-caps)
  private readonly embedType: Supported;
  private readonly sampler = new Sampler();
  private disposed = false;
  // the matmuls' current input (see `input`) and which kind xq/xd/xs or xr hold of it
  private src = 0;
  private srcWidth = 0;
  private srcTokens = 0;
  private prepared: ActivationKind | null = null;

  private constructor(
    readonly config: ModelConfig,
    private readonly heap: WasmHeap,
    private readonly k: CpuKernels,
    private readonly w: CpuWeights<WasmMatrix, number>,
    readonly pageSize: number,
    readonly pageCount: number,
    private readonly f16Kv: boolean,
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
    this.xb2 = heap.alloc(C * c.dim * 4);
    this.q = heap.alloc(C * qDim * 4);
    this.kb = heap.alloc(C * this.kvDim * 4);
    this.vb = heap.alloc(C * this.kvDim * 4);
    this.hb = heap.alloc(C * c.hiddenDim * 4);
    this.hb2 = heap.alloc(C * c.hiddenDim * 4);
    this.att = heap.alloc(c.nHeads * (c.contextLength + 1) * 4);
    this.xq = heap.alloc(C * width * 2);
    this.xd = heap.alloc(C * (width / 32) * 4);
    this.xs = heap.alloc(C * (width / 16) * 4);
    this.xr = heap.alloc(C * width * 4 + 16);
    const half = c.headDim / 2;
    this.cs = heap.alloc(C * half * 16);
    const maxPages = Math.ceil(c.contextLength / pageSize);
    this.pageTable = heap.alloc(maxPages * 4);
    this.logits = heap.alloc(c.vocabSize * 4);
    heap.seal();
    this.heapF32 = new Float32Array(heap.memory.buffer);
    this.heapU8 = new Uint8Array(heap.memory.buffer);
    const csView = heap.f64(this.cs, C * half * 2);
    this.csRows = Array.from({ length: C }, (_, t) => csView.subarray(t * half * 2, (t + 1) * half * 2));
    this.pageView = heap.i32(this.pageTable, maxPages);
    this.logitsView = heap.f32(this.logits, c.vocabSize);
    this.jsAtt = new Float32Array(c.contextLength);
    this.embedType = parseTypeName(w.embedding.type);
  }

  /** Heap bytes past the weights: KV pages and the per-chunk activations (upper bound). */
  private static scratchBytes(c: ModelConfig, pageSize: number, pageCount: number): number {
    const C = PREFILL_CHUNK;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const width = Math.max(c.dim, qDim, c.hiddenDim) + 32;
    const acts = C * (2 * c.dim + Math.max(c.dim, qDim) + qDim + 2 * kvDim + 2 * c.hiddenDim + 2 * width) * 4;
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
    const f16Kv = (options.kvCache ?? 'f16') === 'f16';
    return new WasmCpuBackend(c, heap, kernels, weights, pageSize, pageCount, f16Kv);
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

  /**
   * out (+)= m · x for n tokens. A matrix whose kernel reads other than float32 reads x as
   * llama.cpp would give it (its `vec_dot_type`), made from x once per kind after `input(x)`
   * (a file may mix Q8_0- and Q8_K-reading types on one input).
   */
  private mv(out: number, m: WasmMatrix, x: number, acc: number, n = 1): void {
    const a = m.act;
    if (a === 'f32') {
      m.kernel(out, m.w, m.rows, m.cols, x, 0, 0, n, acc);
      return;
    }
    if (x !== this.src || n !== this.srcTokens || m.cols !== this.srcWidth)
      throw new EdgeLMError('INTERNAL', 'A matmul read activations other than its input');
    if (this.prepared !== a) {
      const count = m.cols * n;
      if (a === 'f16') this.k.round_f16(x, count, this.xr);
      else if (a === 'bf16') this.k.round_bf16(x, count, this.xr);
      else if (a === 'q8_0') this.k.quantize_q8_0(x, count, this.xq, this.xd, this.xs);
      else this.k.quantize_q8_K(x, count, this.xq, this.xd, this.xs);
      this.prepared = a;
    }
    if (isQuantizedActivation(a)) m.kernel(out, m.w, m.rows, m.cols, this.xq, this.xd, this.xs, n, acc);
    else m.kernel(out, m.w, m.rows, m.cols, this.xr, 0, 0, n, acc);
  }

  /** x (n tokens of `width` floats) is the input of the matmuls that follow, until the next call. */
  private input(x: number, width: number, n: number): void {
    this.src = x;
    this.srcWidth = width;
    this.srcTokens = n;
    this.prepared = null;
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
    const f = c.features;
    const k = this.k;
    const F = this.heapF32;
    const { dim, headDim, nHeads, nKvHeads, hiddenDim, normEps } = c;
    const { kvDim, pageSize, x, xb, q, kb, vb, hb, hb2 } = this;
    const qDim = nHeads * headDim;
    const half = headDim / 2;
    for (let t = 0; t < n; t++) this.embed(tokens[i + t]!, t);
    // gemma scales the embedding by √dim
    if (f.embeddingScale !== 1)
      for (let j = x >>> 2, end = j + n * dim; j < end; j++) F[j]! *= f.embeddingScale;
    const neox = c.ropeStyle === 'neox' ? 1 : 0;
    const partial = f.rope.dims !== headDim;
    let freqs: Float64Array | null = null;
    const row = (pos: number) =>
      (this.pageView[Math.floor(pos / pageSize)]! * pageSize + (pos % pageSize)) * kvDim * 4;

    for (let l = 0; l < c.nLayers; l++) {
      const lw: CpuLayer<WasmMatrix, number> = this.w.layers[l]!;
      const kLayer = this.keyCache + l * this.layerBytes;
      const vLayer = this.valueCache + l * this.layerBytes;
      // each position's cos/sin, recomputed only where the layer's frequencies change
      if (this.w.ropeFreqs[l] !== freqs) {
        freqs = this.w.ropeFreqs[l]!;
        for (let t = 0; t < n; t++) ropeCosSin(freqs, pos0 + t, f.rope.attnFactor, this.csRows[t]!);
      }
      // attention rmsnorm, then q, k, v for every token of the chunk
      for (let t = 0; t < n; t++) k.rmsnorm(xb + t * dim * 4, x + t * dim * 4, lw.rmsAtt, dim, normEps);
      this.input(xb, dim, n);
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
        // per-head q/k RMSNorm (qwen3, gemma3)
        if (lw.qNorm !== undefined && lw.kNorm !== undefined) {
          for (let h = 0; h < nHeads; h++)
            k.rmsnorm(qt + h * headDim * 4, qt + h * headDim * 4, lw.qNorm, headDim, normEps);
          for (let h = 0; h < nKvHeads; h++)
            k.rmsnorm(kt + h * headDim * 4, kt + h * headDim * 4, lw.kNorm, headDim, normEps);
        }
        const cs = this.cs + t * half * 16;
        if (partial) {
          // The kernel rotates whole heads; partial rotary runs the reference loop on the heap.
          const csT = this.csRows[t]!;
          rope(F.subarray(qt >>> 2, (qt >>> 2) + qDim), nHeads, headDim, f.rope.dims, csT, c.ropeStyle);
          rope(F.subarray(kt >>> 2, (kt >>> 2) + kvDim), nKvHeads, headDim, f.rope.dims, csT, c.ropeStyle);
        } else {
          k.rope(qt, nHeads, headDim, cs, neox);
          k.rope(kt, nKvHeads, headDim, cs, neox);
        }
        if (this.f16Kv) {
          // llama.cpp's default cache is f16 and its attention rounds q to f16 (f32 slots here)
          k.round_f16(qt, qDim, qt);
          k.round_f16(kt, kvDim, kt);
          k.round_f16(vt, kvDim, vt);
        }
        // into this position's cache row
        const r = row(pos0 + t);
        F.copyWithin((kLayer + r) >>> 2, kt >>> 2, (kt >>> 2) + kvDim);
        F.copyWithin((vLayer + r) >>> 2, vt >>> 2, (vt >>> 2) + kvDim);
      }
      // causal grouped-query attention over the pages (token t sees positions ≤ pos0 + t)
      for (let t = 0; t < n; t++)
        this.attend(l, pos0 + t, kLayer, vLayer, xb + t * qDim * 4, q + t * qDim * 4);
      // the output projection onto the residual (through gemma's post-norm)
      this.input(xb, qDim, n);
      this.branch(lw.wo, xb, n, lw.postAttnNorm);
      // feed-forward: rmsnorm, SwiGLU or GeGLU, down projection onto the residual
      for (let t = 0; t < n; t++) k.rmsnorm(xb + t * dim * 4, x + t * dim * 4, lw.rmsFfn, dim, normEps);
      this.input(xb, dim, n);
      this.mv(hb, lw.w1, xb, 0, n);
      this.mv(hb2, lw.w3, xb, 0, n);
      if (f.activation === 'geglu') {
        const h = hiddenDim * n;
        geglu(F.subarray(hb >>> 2, (hb >>> 2) + h), F.subarray(hb2 >>> 2, (hb2 >>> 2) + h));
      } else {
        k.swiglu(hb, hb2, hiddenDim * n);
      }
      this.input(hb, hiddenDim, n);
      this.branch(lw.w2, hb, n, lw.postFfnNorm);
    }
    if (!wantLogits) return;
    const last = x + (n - 1) * dim * 4;
    k.rmsnorm(last, last, this.w.rmsFinal, dim, normEps);
    this.input(last, dim, 1);
    this.mv(this.logits, this.w.wcls, last, 0);
    if (f.finalSoftcap) softcap(this.logitsView, f.finalSoftcap);
  }

  /** x += m · h for n tokens, through a post-norm of the branch's output when the layer has one. */
  private branch(m: WasmMatrix, h: number, n: number, postNorm: number | undefined): void {
    if (postNorm === undefined) {
      this.mv(this.x, m, h, 1, n);
      return;
    }
    const { dim, normEps } = this.config;
    this.mv(this.xb2, m, h, 0, n);
    for (let t = 0; t < n; t++) {
      const at = this.xb2 + t * dim * 4;
      this.k.rmsnorm(at, at, postNorm, dim, normEps);
      this.k.add(this.x + t * dim * 4, at, dim);
    }
  }

  /**
   * Attention of layer l's query at `qAt` into `outAt`. The kernel walks the page table from
   * position 0, so a sliding window runs it from the window's first page when the window starts on
   * a page boundary (or covers everything); otherwise, and with soft-capped scores, the JS loop runs.
   */
  private attend(l: number, pos: number, kLayer: number, vLayer: number, outAt: number, qAt: number): void {
    const c = this.config;
    const f = c.features;
    const { headDim, nHeads, nKvHeads } = c;
    const window = layerWindow(c, l);
    const lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
    if (lo % this.pageSize === 0 && !f.attnSoftcap) {
      const firstPage = lo / this.pageSize;
      const args = [
        outAt,
        qAt,
        kLayer,
        vLayer,
        this.pageTable + firstPage * 4,
        this.pageSize,
        this.kvDim,
        nHeads,
        headDim,
        nHeads / nKvHeads,
        pos + 1 - lo,
      ] as const;
      // The f16 kernel keeps its running sums in registers; the f32 one needs the score scratch.
      if (this.f16Kv) this.k.attention_f16(...args, f.attnScale);
      else this.k.attention(...args, this.att, f.attnScale);
      return;
    }
    const { pageSize, kvDim } = this;
    const F = this.heapF32;
    const row = (p: number) => (this.pageView[Math.floor(p / pageSize)]! * pageSize + (p % pageSize)) * kvDim;
    const kv = { keys: F.subarray(kLayer >>> 2), values: F.subarray(vLayer >>> 2), row };
    const shape = { nHeads, headDim, kvMul: nHeads / nKvHeads, scale: f.attnScale, cap: f.attnSoftcap };
    pagedAttention(F, outAt >>> 2, F, qAt >>> 2, kv, lo, pos, shape, this.jsAtt);
  }

  dispose(): void {
    this.disposed = true;
  }
}
