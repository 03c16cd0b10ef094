import { EdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { layerWindow, ropeCosSin } from '../../model/features.js';
import type { ModelFile } from '../../model/model-file.js';
import { addInPlace, geglu, headRmsnorm, rmsnorm, rope, softcap, swiglu } from '../../reference/ops.js';
import type { Backend, SequenceStep, StepLogits } from '../backend.js';
import type { CpuBackendOptions } from './cpu-backend.js';
import { type CpuMatrix, matvec, readRow } from './matrix.js';
import { pagedAttention } from './paged-attention.js';
import { type CpuLayer, checkPages, loadCpuWeights } from './weights.js';

/**
 * The CPU backend in plain JS loops: the reference arithmetic over a paged KV cache, with
 * quantized weights kept 8-bit in memory. The fallback where WebAssembly SIMD is missing
 * (see WasmCpuBackend for the fast path).
 */
export class JsCpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly kernels = 'js' as const;
  readonly pageBytes: number;
  private readonly kvDim: number;
  private readonly keyCache: Float32Array; // (layer, page, slot, kvDim)
  private readonly valueCache: Float32Array;
  // activations, allocated once
  private readonly x: Float32Array;
  private readonly xb: Float32Array;
  private readonly xb2: Float32Array;
  private readonly q: Float32Array;
  private readonly k: Float32Array;
  private readonly v: Float32Array;
  private readonly hb: Float32Array;
  private readonly hb2: Float32Array;
  private att: Float32Array;
  private readonly cs: Float64Array; // (ropeDims / 2, 2) cos, sin at this position
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly embedding: CpuMatrix,
    private readonly layers: CpuLayer<CpuMatrix, Float32Array>[],
    private readonly rmsFinal: Float32Array,
    private readonly wcls: CpuMatrix,
    private readonly ropeFreqs: Float64Array[],
    readonly pageSize: number,
    readonly pageCount: number,
  ) {
    const c = config;
    this.kvDim = c.nKvHeads * c.headDim;
    const qDim = c.nHeads * c.headDim;
    this.pageBytes = c.nLayers * pageSize * this.kvDim * 4 * 2;
    const cacheLen = c.nLayers * pageCount * pageSize * this.kvDim;
    try {
      this.keyCache = new Float32Array(cacheLen);
      this.valueCache = new Float32Array(cacheLen);
    } catch (e) {
      throw new EdgeLMError(
        'OUT_OF_MEMORY',
        `Cannot allocate a ${pageCount}-page KV cache`,
        { pageCount },
        e,
      );
    }
    this.x = new Float32Array(c.dim);
    this.xb = new Float32Array(Math.max(c.dim, qDim));
    this.xb2 = new Float32Array(c.dim);
    this.q = new Float32Array(qDim);
    this.k = new Float32Array(this.kvDim);
    this.v = new Float32Array(this.kvDim);
    this.hb = new Float32Array(c.hiddenDim);
    this.hb2 = new Float32Array(c.hiddenDim);
    this.att = new Float32Array(c.contextLength);
    this.cs = new Float64Array(c.features.rope.dims);
  }

  static async create(model: ModelFile, options: CpuBackendOptions = {}): Promise<JsCpuBackend> {
    const c = model.config;
    const w = await loadCpuWeights(model, { matrix: (m) => m, vector: (v) => v }, options.onProgress);
    const pageSize = options.pageSize ?? 16;
    const pageCount = options.pageCount ?? Math.ceil(c.contextLength / pageSize) * 4;
    return new JsCpuBackend(c, w.embedding, w.layers, w.rmsFinal, w.wcls, w.ropeFreqs, pageSize, pageCount);
  }

  async forward(steps: SequenceStep[]): Promise<StepLogits> {
    if (this.disposed) throw new EdgeLMError('DISPOSED', 'The CPU backend was disposed');
    const out: Float32Array[] = [];
    for (const step of steps) {
      const end = step.startPos + step.tokens.length;
      if (end > this.config.contextLength) {
        throw new EdgeLMError(
          'CONTEXT_OVERFLOW',
          `Position ${end - 1} is past the context of ${this.config.contextLength}`,
        );
      }
      checkPages(step.pages, end, this.pageSize, this.pageCount);
      const logits = new Float32Array(this.config.vocabSize);
      for (let i = 0; i < step.tokens.length; i++) {
        this.forwardToken(
          step.tokens[i]!,
          step.startPos + i,
          step.pages,
          i === step.tokens.length - 1 ? logits : null,
        );
      }
      out.push(logits);
    }
    return out;
  }

  /** One token through every layer; logits are computed only where asked (the last prompt token). */
  private forwardToken(token: number, pos: number, pages: Int32Array, logits: Float32Array | null): void {
    const c = this.config;
    const f = c.features;
    const { headDim, nHeads, nKvHeads } = c;
    const { kvDim, pageSize } = this;
    const qDim = nHeads * headDim;
    const shape = { nHeads, headDim, kvMul: nHeads / nKvHeads, scale: f.attnScale, cap: f.attnSoftcap };
    if (token < 0 || token >= c.vocabSize)
      throw new EdgeLMError('INVALID_ARGUMENT', `Token ${token} is not in the vocabulary`);
    if (this.att.length < pos + 1) this.att = new Float32Array(pos + 1);
    const slot = (layer: number, p: number) =>
      ((layer * this.pageCount + pages[Math.floor(p / pageSize)]!) * pageSize + (p % pageSize)) * kvDim;

    readRow(this.x, this.embedding, token);
    if (f.embeddingScale !== 1) for (let i = 0; i < c.dim; i++) this.x[i]! *= f.embeddingScale;
    for (let l = 0; l < c.nLayers; l++) {
      const lw = this.layers[l]!;
      rmsnorm(this.xb, this.x, lw.rmsAtt, c.normEps);
      matvec(this.q, lw.wq, this.xb);
      matvec(this.k, lw.wk, this.xb);
      matvec(this.v, lw.wv, this.xb);
      if (lw.bq) addInPlace(this.q, lw.bq);
      if (lw.bk) addInPlace(this.k, lw.bk);
      if (lw.bv) addInPlace(this.v, lw.bv);
      if (lw.qNorm && lw.kNorm) {
        headRmsnorm(this.q, nHeads, headDim, lw.qNorm, c.normEps);
        headRmsnorm(this.k, nKvHeads, headDim, lw.kNorm, c.normEps);
      }
      ropeCosSin(this.ropeFreqs[l]!, pos, f.rope.attnFactor, this.cs);
      rope(this.q, nHeads, headDim, f.rope.dims, this.cs, c.ropeStyle);
      rope(this.k, nKvHeads, headDim, f.rope.dims, this.cs, c.ropeStyle);
      const here = slot(l, pos);
      this.keyCache.set(this.k, here);
      this.valueCache.set(this.v, here);

      const window = layerWindow(c, l);
      const lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
      const kv = { keys: this.keyCache, values: this.valueCache, row: (p: number) => slot(l, p) };
      pagedAttention(this.xb, 0, this.q, 0, kv, lo, pos, shape, this.att);
      matvec(this.xb2, lw.wo, this.xb.subarray(0, qDim));
      if (lw.postAttnNorm) rmsnorm(this.xb2, this.xb2, lw.postAttnNorm, c.normEps);
      addInPlace(this.x, this.xb2);

      rmsnorm(this.xb, this.x, lw.rmsFfn, c.normEps);
      matvec(this.hb, lw.w1, this.xb);
      matvec(this.hb2, lw.w3, this.xb);
      if (f.activation === 'geglu') geglu(this.hb, this.hb2);
      else swiglu(this.hb, this.hb2);
      matvec(this.xb2, lw.w2, this.hb);
      if (lw.postFfnNorm) rmsnorm(this.xb2, this.xb2, lw.postFfnNorm, c.normEps);
      addInPlace(this.x, this.xb2);
    }
    if (!logits) return;
    rmsnorm(this.x, this.x, this.rmsFinal, c.normEps);
    matvec(logits, this.wcls, this.x);
    if (f.finalSoftcap) softcap(logits, f.finalSoftcap);
  }

  dispose(): void {
    this.disposed = true;
  }
}
