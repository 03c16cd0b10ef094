import { EdgeLMError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import type { ModelFile } from '../model/model-file.js';
import { addInPlace, matmul, rmsnorm, rope, softmax, swiglu } from './ops.js';
import { loadWeights, type Weights } from './weights.js';

/** Activations of one forward pass, allocated once (llama2.c's RunState). */
interface RunState {
  x: Float32Array; // (dim) residual stream
  xb: Float32Array; // (max(dim, qDim)) normed input / attention output
  xb2: Float32Array; // (dim)
  hb: Float32Array; // (hiddenDim)
  hb2: Float32Array; // (hiddenDim)
  q: Float32Array; // (qDim)
  k: Float32Array; // (kvDim)
  v: Float32Array; // (kvDim)
  att: Float32Array; // (nHeads, seqLen)
  logits: Float32Array; // (vocab)
  keyCache: Float32Array; // (layer, seqLen, kvDim)
  valueCache: Float32Array; // (layer, seqLen, kvDim)
}

/**
 * The CPU reference: a float32 llama forward pass over one token at a time with a contiguous
 * KV cache, written to be read in one sitting. Every backend is tested against it.
 *
 * @example
 * ```ts
 * const ref = await ReferenceModel.load(model);
 * const logits = ref.forward(tokenId, 0); // valid until the next call
 * ```
 */
export class ReferenceModel {
  private readonly s: RunState;

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
      k: new Float32Array(kvDim),
      v: new Float32Array(kvDim),
      att: new Float32Array(c.nHeads * maxSeqLen),
      logits: new Float32Array(c.vocabSize),
      keyCache: new Float32Array(c.nLayers * maxSeqLen * kvDim),
      valueCache: new Float32Array(c.nLayers * maxSeqLen * kvDim),
    };
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

    // token embedding
    s.x.set(w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));

    for (let l = 0; l < c.nLayers; l++) {
      const lw = w.layers[l]!;
      // attention rmsnorm
      rmsnorm(s.xb, s.x, lw.rmsAtt, c.normEps);

      // q, k, v projections, written straight into this position's cache row
      const loff = l * this.maxSeqLen * kvDim;
      const kRow = s.keyCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      const vRow = s.valueCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      matmul(s.q, s.xb, lw.wq, dim, qDim);
      matmul(kRow, s.xb, lw.wk, dim, kvDim);
      matmul(vRow, s.xb, lw.wv, dim, kvDim);
      if (lw.bq) addInPlace(s.q, lw.bq);
      if (lw.bk) addInPlace(kRow, lw.bk);
      if (lw.bv) addInPlace(vRow, lw.bv);

      // RoPE on q and k
      rope(s.q, nHeads, headDim, pos, c.ropeTheta, c.ropeStyle);
      rope(kRow, nKvHeads, headDim, pos, c.ropeTheta, c.ropeStyle);

      // grouped-query attention over positions 0..pos
      const scale = 1 / Math.sqrt(headDim);
      for (let h = 0; h < nHeads; h++) {
        const q = s.q.subarray(h * headDim, (h + 1) * headDim);
        const att = s.att.subarray(h * this.maxSeqLen, (h + 1) * this.maxSeqLen);
        const kvh = Math.floor(h / kvMul) * headDim;
        for (let t = 0; t <= pos; t++) {
          const k = loff + t * kvDim + kvh;
          let score = 0;
          for (let i = 0; i < headDim; i++) score += q[i]! * s.keyCache[k + i]!;
          att[t] = score * scale;
        }
        softmax(att, pos + 1);
        const xb = s.xb.subarray(h * headDim, (h + 1) * headDim);
        xb.fill(0);
        for (let t = 0; t <= pos; t++) {
          const v = loff + t * kvDim + kvh;
          const a = att[t]!;
          for (let i = 0; i < headDim; i++) xb[i]! += a * s.valueCache[v + i]!;
        }
      }

      // output projection and residual
      matmul(s.xb2, s.xb, lw.wo, qDim, dim);
      addInPlace(s.x, s.xb2);

      // feed-forward: rmsnorm, SwiGLU, down projection, residual
      rmsnorm(s.xb, s.x, lw.rmsFfn, c.normEps);
      matmul(s.hb, s.xb, lw.w1, dim, c.hiddenDim);
      matmul(s.hb2, s.xb, lw.w3, dim, c.hiddenDim);
      swiglu(s.hb, s.hb2);
      matmul(s.xb2, s.hb, lw.w2, c.hiddenDim, dim);
      addInPlace(s.x, s.xb2);
    }

    // final rmsnorm and classifier
    rmsnorm(s.x, s.x, w.rmsFinal, c.normEps);
    matmul(s.logits, s.x, w.wcls, dim, c.vocabSize);
    return s.logits;
  }
}
