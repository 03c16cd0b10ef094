import { EdgeLMError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { layerFrequencies, layerWindow, ropeCosSin } from '../model/features.js';
import type { ModelFile } from '../model/model-file.js';
import { addInPlace, geglu, headRmsnorm, matmul, rmsnorm, rope, softcap, softmax, swiglu } from './ops.js';
import { loadWeights, type Weights } from './weights.js';

/** Activations of one forward pass, allocated once (llama2.c's RunState). */
interface RunState {
  x: Float32Array; // (dim) residual stream
  xb: Float32Array; // (max(dim, qDim)) normed input / attention output
  xb2: Float32Array; // (dim)
  hb: Float32Array; // (hiddenDim)
  hb2: Float32Array; // (hiddenDim)
  q: Float32Array; // (qDim)
  att: Float32Array; // (seqLen) one head's scores
  cs: Float64Array; // (ropeDims / 2, 2) cos, sin at this position
  logits: Float32Array; // (vocab)
  keyCache: Float32Array; // (layer, seqLen, kvDim)
  valueCache: Float32Array; // (layer, seqLen, kvDim)
}

/**
 * The CPU reference: a float32 decoder forward pass over one token at a time with a contiguous
 * KV cache, written to be read in one sitting. The architecture's differences from llama 2 are
 * the `features` of its config, each one `if` below. Every backend is tested against it.
 *
 * @example
 * ```ts
 * const ref = await ReferenceModel.load(model);
 * const logits = ref.forward(tokenId, 0); // valid until the next call
 * ```
 */
export class ReferenceModel {
  private readonly s: RunState;
  private readonly freqs: Float64Array[]; // (layer) RoPE frequency per rotated pair

  private constructor(
    readonly config: ModelConfig,
    readonly weights: Weights,
    readonly maxSeqLen: number,
  ) {
    const c = config;
    const kvDim = c.nKvHeads * c.headDim;
    const qDim = c.nHeads * c.headDim;
    this.s = {
      x: new Float32Array(c.dim),
      xb: new Float32Array(Math.max(c.dim, qDim)),
      xb2: new Float32Array(c.dim),
      hb: new Float32Array(c.hiddenDim),
      hb2: new Float32Array(c.hiddenDim),
      q: new Float32Array(qDim),
      att: new Float32Array(maxSeqLen),
      cs: new Float64Array(c.features.rope.dims),
      logits: new Float32Array(c.vocabSize),
      keyCache: new Float32Array(c.nLayers * maxSeqLen * kvDim),
      valueCache: new Float32Array(c.nLayers * maxSeqLen * kvDim),
    };
    this.freqs = layerFrequencies(c, weights.ropeFactors);
  }

  /** Reads and dequantizes every weight. `maxSeqLen` bounds the KV cache (default: the model's context). */
  static async load(model: ModelFile, maxSeqLen = model.config.contextLength): Promise<ReferenceModel> {
    return new ReferenceModel(
      model.config,
      await loadWeights(model),
      Math.min(maxSeqLen, model.config.contextLength),
    );
  }

  /** Logits for `token` at position `pos`; earlier positions must have been run. The array is reused. */
  forward(token: number, pos: number): Float32Array {
    const c = this.config;
    const f = c.features;
    const w = this.weights;
    const s = this.s;
    const { dim, headDim, nHeads, nKvHeads } = c;
    const kvDim = nKvHeads * headDim;
    const qDim = nHeads * headDim;
    const kvMul = nHeads / nKvHeads; // query heads per KV head
    if (pos < 0 || pos >= this.maxSeqLen) {
      throw new EdgeLMError(
        'CONTEXT_OVERFLOW',
        `Position ${pos} is outside the context of ${this.maxSeqLen}`,
      );
    }
    if (token < 0 || token >= c.vocabSize)
      throw new EdgeLMError('INVALID_ARGUMENT', `Token ${token} is not in the vocabulary`);

    // token embedding (gemma scales it by √dim)
    s.x.set(w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    if (f.embeddingScale !== 1) for (let i = 0; i < dim; i++) s.x[i]! *= f.embeddingScale;

    for (let l = 0; l < c.nLayers; l++) {
      const lw = w.layers[l]!;
      // attention rmsnorm
      rmsnorm(s.xb, s.x, lw.rmsAtt, c.normEps);

      // q, k, v projections (+ biases), written straight into this position's cache row
      const loff = l * this.maxSeqLen * kvDim;
      const kRow = s.keyCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      const vRow = s.valueCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      matmul(s.q, s.xb, lw.wq, dim, qDim);
      matmul(kRow, s.xb, lw.wk, dim, kvDim);
      matmul(vRow, s.xb, lw.wv, dim, kvDim);
      if (lw.bq) addInPlace(s.q, lw.bq);
      if (lw.bk) addInPlace(kRow, lw.bk);
      if (lw.bv) addInPlace(vRow, lw.bv);

      // per-head q/k RMSNorm (qwen3, gemma3), then RoPE with this layer's frequencies
      if (lw.qNorm && lw.kNorm) {
        headRmsnorm(s.q, nHeads, headDim, lw.qNorm, c.normEps);
        headRmsnorm(kRow, nKvHeads, headDim, lw.kNorm, c.normEps);
      }
      ropeCosSin(this.freqs[l]!, pos, f.rope.attnFactor, s.cs);
      rope(s.q, nHeads, headDim, f.rope.dims, s.cs, c.ropeStyle);
      rope(kRow, nKvHeads, headDim, f.rope.dims, s.cs, c.ropeStyle);

      // grouped-query attention over positions [lo, pos] (lo > 0 in a sliding-window layer)
      const window = layerWindow(c, l);
      const lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
      for (let h = 0; h < nHeads; h++) {
        const q = s.q.subarray(h * headDim, (h + 1) * headDim);
        const kvh = Math.floor(h / kvMul) * headDim;
        for (let t = lo; t <= pos; t++) {
          const k = loff + t * kvDim + kvh;
          let score = 0;
          for (let i = 0; i < headDim; i++) score += q[i]! * s.keyCache[k + i]!;
          s.att[t - lo] = score * f.attnScale;
        }
        if (f.attnSoftcap) softcap(s.att, f.attnSoftcap, pos + 1 - lo);
        softmax(s.att, pos + 1 - lo);
        const xb = s.xb.subarray(h * headDim, (h + 1) * headDim);
        xb.fill(0);
        for (let t = lo; t <= pos; t++) {
          const v = loff + t * kvDim + kvh;
          const a = s.att[t - lo]!;
          for (let i = 0; i < headDim; i++) xb[i]! += a * s.valueCache[v + i]!;
        }
      }

      // output projection (+ post-attention norm) and residual
      matmul(s.xb2, s.xb, lw.wo, qDim, dim);
      if (lw.postAttnNorm) rmsnorm(s.xb2, s.xb2, lw.postAttnNorm, c.normEps);
      addInPlace(s.x, s.xb2);

      // feed-forward: rmsnorm, SwiGLU or GeGLU, down projection (+ post-FFN norm), residual
      rmsnorm(s.xb, s.x, lw.rmsFfn, c.normEps);
      matmul(s.hb, s.xb, lw.w1, dim, c.hiddenDim);
      matmul(s.hb2, s.xb, lw.w3, dim, c.hiddenDim);
      if (f.activation === 'geglu') geglu(s.hb, s.hb2);
      else swiglu(s.hb, s.hb2);
      matmul(s.xb2, s.hb, lw.w2, c.hiddenDim, dim);
      if (lw.postFfnNorm) rmsnorm(s.xb2, s.xb2, lw.postFfnNorm, c.normEps);
      addInPlace(s.x, s.xb2);
    }

    // final rmsnorm, classifier (+ logit soft-cap)
    rmsnorm(s.x, s.x, w.rmsFinal, c.normEps);
    matmul(s.logits, s.x, w.wcls, dim, c.vocabSize);
    if (f.finalSoftcap) softcap(s.logits, f.finalSoftcap);
    return s.logits;
  }
}
