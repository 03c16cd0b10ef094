import { EdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { layerWindow, ropeCosSin } from '../../model/features.js';
import type { ModelFile } from '../../model/model-file.js';
import { geglu, rope, softcap } from '../../reference/ops.js';
import { Sampler } from '../../sampler/sample.js';
import type { Backend, SampleRequest, SequenceStep, StepLogits } from '../backend.js';
import type { CpuBackendOptions } from './cpu-backend.js';
import type { CpuMatrix } from './matrix.js';
import { pagedAttention } from './paged-attention.js';
import { WasmHeap } from './wasm/heap.js';
import { type CpuKernels, instantiateKernels } from './wasm/kernels.js';
import { f32x4Length, packF32x4, packQ8x4, q8x4Size, q8x4Slot, readF32x4Row } from './wasm/layout.js';
import { type CpuLayer, type CpuWeights, checkPages, loadCpuWeights } from './weights.js';

/** A weight matrix in the heap: float32 (f32x4 layout), or int8 with one f32 scale per 32 (q8x4). */
type WasmMatrix =
  | { kind: 'f32'; rows: number; cols: number; w: number }
  | { kind: 'q8'; rows: number; cols: number; q: number; d: number };

const place = (heap: WasmHeap) => ({
  matrix: (m: CpuMatrix): WasmMatrix => {
    if (m.kind === 'f32') {
      const n = f32x4Length(m.rows, m.cols);
      const w = heap.alloc(n * 4);
      packF32x4(m.w, m.rows, m.cols, heap.f32(w, n));
      return { kind: 'f32', rows: m.rows, cols: m.cols, w };
    }
    const { qBytes, dBytes } = q8x4Size(m.rows, m.cols);
    const q = heap.alloc(qBytes);
    const d = heap.alloc(dBytes);
    packQ8x4(m.q, m.d, m.rows, m.cols, heap.i8(q, qBytes), heap.f32(d, dBytes / 4));
    return { kind: 'q8', rows: m.rows, cols: m.cols, q, d };
  },
  vector: (v: Float32Array): number => heap.store(v),
});

/**
 * The CPU backend on WebAssembly SIMD kernels (kernels.wat): weights, KV pages and activations
 * live in one linear memory, so a token runs as a few dozen kernel calls that pass offsets and
 * allocate nothing. 8-bit weights multiply activations quantized to int16 per 32 in integer dot
 * products (llama.cpp's Q8_0 scheme, with finer activations); float32 weights run in float32. What 'auto' runs without a WebGPU adapter.
 */
export class WasmCpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly kernels = 'wasm' as const;
  readonly pageBytes: number;
  private readonly kvDim: number;
  private readonly layerBytes: number; // one layer's share of the K (or V) cache
  // heap offsets, allocated once
  private readonly keyCache: number; // (layer, page, slot, kvDim)
  private readonly valueCache: number; // (layer, page, slot, kvDim)
  private readonly x: number; // (dim) residual stream
  private readonly xb: number; // (max(dim, qDim)) normed input / attention output
  private readonly xb2: number; // (dim) a branch's output before its post-norm (gemma3)
  private readonly q: number; // (qDim)
  private readonly hb: number; // (hiddenDim)
  private readonly hb2: number; // (hiddenDim)
  private readonly att: number; // (nHeads, contextLength) + (nHeads) scores, then 1/Σ
  private readonly xq: number; // (max width, rounded to 32) int16 activations
  private readonly xd: number; // (max width / 32) their scales
  private readonly cs: number; // (headDim / 2, 2) float64 cos, sin at this position
  private readonly pageTable: number; // (contextLength / pageSize) int32
  private readonly logits: number; // (vocab)
  private readonly heapF32: Float32Array;
  private readonly csView: Float64Array;
  private readonly pageView: Int32Array;
  private readonly logitsView: Float32Array;
  private readonly jsAtt: Float32Array; // scores of the JS attention (sliding windows off a page boundary, soft-caps)
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
    const qDim = c.nHeads * c.headDim;
    this.kvDim = c.nKvHeads * c.headDim;
    this.pageBytes = c.nLayers * pageSize * this.kvDim * 4 * 2;
    this.layerBytes = pageCount * pageSize * this.kvDim * 4;
    this.keyCache = heap.alloc(c.nLayers * this.layerBytes);
    this.valueCache = heap.alloc(c.nLayers * this.layerBytes);
    const width = Math.ceil(Math.max(c.dim, qDim, c.hiddenDim) / 32) * 32;
    this.x = heap.alloc(c.dim * 4);
    this.xb = heap.alloc(Math.max(c.dim, qDim) * 4);
    this.xb2 = heap.alloc(c.dim * 4);
    this.q = heap.alloc(qDim * 4);
    this.hb = heap.alloc(c.hiddenDim * 4);
    this.hb2 = heap.alloc(c.hiddenDim * 4);
    this.att = heap.alloc(c.nHeads * (c.contextLength + 1) * 4);
    this.xq = heap.alloc(width * 2);
    this.xd = heap.alloc((width / 32) * 4);
    const half = c.headDim / 2;
    this.cs = heap.alloc(half * 16);
    const maxPages = Math.ceil(c.contextLength / pageSize);
    this.pageTable = heap.alloc(maxPages * 4);
    this.logits = heap.alloc(c.vocabSize * 4);
    heap.seal();
    this.heapF32 = new Float32Array(heap.memory.buffer);
    this.csView = heap.f64(this.cs, half * 2);
    this.pageView = heap.i32(this.pageTable, maxPages);
    this.logitsView = heap.f32(this.logits, c.vocabSize);
    this.jsAtt = new Float32Array(c.contextLength);
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
    const kernels = await instantiateKernels(heap.memory);
    const weights = await loadCpuWeights(model, place(heap), options.onProgress);
    const pageSize = options.pageSize ?? 16;
    const pageCount = options.pageCount ?? Math.ceil(c.contextLength / pageSize) * 4;
    return new WasmCpuBackend(c, heap, kernels, weights, pageSize, pageCount);
  }

  /** Bytes of wasm memory in use (weights, KV pages, activations). */
  get memoryBytes(): number {
    return this.heap.used;
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
    const { contextLength } = this.config;
    const end = step.startPos + step.tokens.length;
    if (end > contextLength) {
      throw new EdgeLMError(
        'CONTEXT_OVERFLOW',
        `Position ${end - 1} is past the context of ${contextLength}`,
      );
    }
    checkPages(step.pages, end, this.pageSize, this.pageCount);
    for (let i = 0, used = Math.ceil(end / this.pageSize); i < used; i++) this.pageView[i] = step.pages[i]!;
    const n = step.tokens.length;
    for (let i = 0; i < n; i++) this.forwardToken(step.tokens[i]!, step.startPos + i, i === n - 1);
    return n > 0;
  }

  /** out (+)= m · x; an 8-bit m reads x as the last `quantize` left it (int16 per 32). */
  private mv(out: number, m: WasmMatrix, x: number, acc: number): void {
    if (m.kind === 'f32') this.k.matvec_f32(out, m.w, x, m.rows, m.cols, acc);
    else this.k.matvec_q8(out, m.q, m.d, m.rows, m.cols, this.xq, this.xd, acc);
  }

  private quantize(x: number, n: number): void {
    this.k.quantize_q16(x, n, this.xq, this.xd);
  }

  /** One token through every layer; the classifier runs only for the step's last token. */
  private forwardToken(token: number, pos: number, wantLogits: boolean): void {
    const c = this.config;
    const f = c.features;
    const k = this.k;
    const { dim, headDim, nHeads, nKvHeads, hiddenDim, normEps } = c;
    const { kvDim, pageSize, x, xb, xb2, q, hb, hb2 } = this;
    const qDim = nHeads * headDim;
    const F = this.heapF32;
    if (!(token >= 0 && token < c.vocabSize))
      throw new EdgeLMError('INVALID_ARGUMENT', `Token ${token} is not in the vocabulary`);

    // token embedding (gemma scales it by √dim)
    const e = this.w.embedding;
    if (e.kind === 'f32') {
      readF32x4Row(F, e.w >>> 2, token, dim, x >>> 2);
    } else {
      const slot = q8x4Slot(token, dim);
      k.dequant_q8(x, e.q + slot * 32, e.d + slot * 4, dim / 32);
    }
    if (f.embeddingScale !== 1) for (let i = x >>> 2, end = i + dim; i < end; i++) F[i]! *= f.embeddingScale;
    // this position's cache row
    const row = (this.pageView[Math.floor(pos / pageSize)]! * pageSize + (pos % pageSize)) * kvDim * 4;
    const partial = f.rope.dims !== headDim;
    let freqs: Float64Array | null = null;

    for (let l = 0; l < c.nLayers; l++) {
      const lw: CpuLayer<WasmMatrix, number> = this.w.layers[l]!;
      const kLayer = this.keyCache + l * this.layerBytes;
      const vLayer = this.valueCache + l * this.layerBytes;
      // attention rmsnorm, then q and k/v straight into this position's cache row
      k.rmsnorm(xb, x, lw.rmsAtt, dim, normEps);
      if (lw.wq.kind === 'q8' || lw.wk.kind === 'q8' || lw.wv.kind === 'q8') this.quantize(xb, dim);
      this.mv(q, lw.wq, xb, 0);
      this.mv(kLayer + row, lw.wk, xb, 0);
      this.mv(vLayer + row, lw.wv, xb, 0);
      if (lw.bq !== undefined) k.add(q, lw.bq, qDim);
      if (lw.bk !== undefined) k.add(kLayer + row, lw.bk, kvDim);
      if (lw.bv !== undefined) k.add(vLayer + row, lw.bv, kvDim);
      // per-head q/k RMSNorm (qwen3, gemma3)
      if (lw.qNorm !== undefined && lw.kNorm !== undefined) {
        for (let h = 0; h < nHeads; h++)
          k.rmsnorm(q + h * headDim * 4, q + h * headDim * 4, lw.qNorm, headDim, normEps);
        for (let h = 0; h < nKvHeads; h++) {
          const at = kLayer + row + h * headDim * 4;
          k.rmsnorm(at, at, lw.kNorm, headDim, normEps);
        }
      }
      // RoPE with this layer's cos/sin (recomputed only where the layer's frequencies change)
      if (this.w.ropeFreqs[l] !== freqs) {
        freqs = this.w.ropeFreqs[l]!;
        ropeCosSin(freqs, pos, f.rope.attnFactor, this.csView);
      }
      if (partial) {
        // The kernel rotates whole heads; partial rotary runs the reference loop on the heap.
        rope(F.subarray(q >>> 2, (q >>> 2) + qDim), nHeads, headDim, f.rope.dims, this.csView, c.ropeStyle);
        const kAt = (kLayer + row) >>> 2;
        rope(F.subarray(kAt, kAt + kvDim), nKvHeads, headDim, f.rope.dims, this.csView, c.ropeStyle);
      } else {
        const neox = c.ropeStyle === 'neox' ? 1 : 0;
        k.rope(q, nHeads, headDim, this.cs, neox);
        k.rope(kLayer + row, nKvHeads, headDim, this.cs, neox);
      }
      // grouped-query attention over the pages (from the window's start in a sliding layer)
      this.attend(l, pos, kLayer, vLayer);
      if (lw.wo.kind === 'q8') this.quantize(xb, qDim);
      if (lw.postAttnNorm !== undefined) {
        this.mv(xb2, lw.wo, xb, 0);
        k.rmsnorm(xb2, xb2, lw.postAttnNorm, dim, normEps);
        k.add(x, xb2, dim);
      } else {
        this.mv(x, lw.wo, xb, 1);
      }
      // feed-forward: rmsnorm, SwiGLU or GeGLU, down projection onto the residual
      k.rmsnorm(xb, x, lw.rmsFfn, dim, normEps);
      if (lw.w1.kind === 'q8' || lw.w3.kind === 'q8') this.quantize(xb, dim);
      this.mv(hb, lw.w1, xb, 0);
      this.mv(hb2, lw.w3, xb, 0);
      if (f.activation === 'geglu') {
        geglu(F.subarray(hb >>> 2, (hb >>> 2) + hiddenDim), F.subarray(hb2 >>> 2, (hb2 >>> 2) + hiddenDim));
      } else {
        k.swiglu(hb, hb2, hiddenDim);
      }
      if (lw.w2.kind === 'q8') this.quantize(hb, hiddenDim);
      if (lw.postFfnNorm !== undefined) {
        this.mv(xb2, lw.w2, hb, 0);
        k.rmsnorm(xb2, xb2, lw.postFfnNorm, dim, normEps);
        k.add(x, xb2, dim);
      } else {
        this.mv(x, lw.w2, hb, 1);
      }
    }
    if (!wantLogits) return;
    k.rmsnorm(x, x, this.w.rmsFinal, dim, normEps);
    if (this.w.wcls.kind === 'q8') this.quantize(x, dim);
    this.mv(this.logits, this.w.wcls, x, 0);
    if (f.finalSoftcap) softcap(this.logitsView, f.finalSoftcap);
  }

  /**
   * Attention of layer l's query into xb. The kernel walks the page table from position 0, so a
   * sliding window runs it from the window's first page when the window starts on a page
   * boundary (or covers everything); otherwise, and with soft-capped scores, the JS loop runs.
   */
  private attend(l: number, pos: number, kLayer: number, vLayer: number): void {
    const c = this.config;
    const f = c.features;
    const { headDim, nHeads, nKvHeads } = c;
    const window = layerWindow(c, l);
    const lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
    if (lo % this.pageSize === 0 && !f.attnSoftcap) {
      const firstPage = lo / this.pageSize;
      this.k.attention(
        this.xb,
        this.q,
        kLayer,
        vLayer,
        this.pageTable + firstPage * 4,
        this.pageSize,
        this.kvDim,
        nHeads,
        headDim,
        nHeads / nKvHeads,
        pos + 1 - lo,
        this.att,
        f.attnScale,
      );
      return;
    }
    const { pageSize, kvDim } = this;
    const F = this.heapF32;
    const row = (p: number) => (this.pageView[Math.floor(p / pageSize)]! * pageSize + (p % pageSize)) * kvDim;
    const kv = { keys: F.subarray(kLayer >>> 2), values: F.subarray(vLayer >>> 2), row };
    const shape = { nHeads, headDim, kvMul: nHeads / nKvHeads, scale: f.attnScale, cap: f.attnSoftcap };
    pagedAttention(F, this.xb >>> 2, F, this.q >>> 2, kv, lo, pos, shape, this.jsAtt);
  }

  dispose(): void {
    this.disposed = true;
  }
}
