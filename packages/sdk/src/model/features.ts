import type { ModelConfig } from './config.js';

/**
 * What an architecture does differently from a llama 2 layer, as data. Every backend reads
 * this (through {@link layerRope} and {@link layerWindow} for the per-layer parts) instead of
 * keeping its own copy of each architecture; the values follow llama.cpp's hparams.
 */
export interface ArchFeatures {
  /** Per-head RMSNorm of q and k before RoPE (attn_q_norm / attn_k_norm): qwen3, gemma3. */
  qkNorm: boolean;
  /** RMSNorm of the attention and FFN outputs before each residual add (post_attention_norm, post_ffw_norm): gemma3. */
  postNorms: boolean;
  /** silu(gate)·up (llama, qwen, phi3) or gelu_tanh(gate)·up (gemma). */
  activation: 'swiglu' | 'geglu';
  /** Multiplies the embedding row (gemma: √dim); 1 elsewhere. */
  embeddingScale: number;
  /** Query scale before q·k: 1/√headDim except where llama.cpp says otherwise. */
  attnScale: number;
  /** c·tanh(s/c) on the scaled attention scores; 0 = none. */
  attnSoftcap: number;
  /** c·tanh(z/c) on the logits; 0 = none. */
  finalSoftcap: number;
  rope: {
    /** Rotated dimensions per head (`rope.dimension_count`); fewer than headDim is partial rotary. */
    dims: number;
    /** Linear position scale, 1 / `rope.scaling.factor` (1 when unscaled). */
    freqScale: number;
    /** Multiplies cos and sin (`rope.scaling.attn_factor`, Phi-3 LongRoPE). */
    attnFactor: number;
    /**
     * Tensor of per-pair frequency divisors (dims / 2 floats), or null: `rope_freqs.weight`
     * (Llama 3.x) or one of Phi-3's `rope_factors_short/long.weight`.
     */
    factors: string | null;
  };
  /**
   * Sliding-window attention (gemma3): a query at p sees keys (p − window, p]; `layers[l]`
   * says which layers slide. Sliding layers use their own RoPE base and no scaling or factors.
   */
  swa: { window: number; layers: boolean[]; theta: number } | null;
  /** Tensors the file stores fused and the loader splits into views (phi3: attn_qkv, ffn_up = gate|up). */
  fused: { qkv: boolean; gateUp: boolean };
}

/** A llama 2 layer: what llama2.c checkpoints and every architecture start from. */
export function llamaFeatures(headDim: number): ArchFeatures {
  return {
    qkNorm: false,
    postNorms: false,
    activation: 'swiglu',
    embeddingScale: 1,
    attnScale: 1 / Math.sqrt(headDim),
    attnSoftcap: 0,
    finalSoftcap: 0,
    rope: { dims: headDim, freqScale: 1, attnFactor: 1, factors: null },
    swa: null,
    fused: { qkv: false, gateUp: false },
  };
}

/** The RoPE one layer applies. */
export interface LayerRope {
  style: 'interleaved' | 'neox';
  dims: number;
  theta: number;
  freqScale: number;
  attnFactor: number;
  factors: string | null;
}

export function layerRope(c: ModelConfig, l: number): LayerRope {
  const r = c.features.rope;
  const swa = c.features.swa;
  if (swa?.layers[l]) {
    return {
      style: c.ropeStyle,
      dims: r.dims,
      theta: swa.theta,
      freqScale: 1,
      attnFactor: r.attnFactor,
      factors: null,
    };
  }
  return {
    style: c.ropeStyle,
    dims: r.dims,
    theta: c.ropeTheta,
    freqScale: r.freqScale,
    attnFactor: r.attnFactor,
    factors: r.factors,
  };
}

/** Keys a query sees at layer l: the sliding window, or 0 for all of them. */
export function layerWindow(c: ModelConfig, l: number): number {
  const swa = c.features.swa;
  return swa?.layers[l] ? swa.window : 0;
}

/** A key that tells layer ropes apart (layers with equal keys share one cos/sin table). */
export function ropeKey(r: LayerRope): string {
  return `${r.style}|${r.dims}|${r.theta}|${r.freqScale}|${r.attnFactor}|${r.factors ?? ''}`;
}

/**
 * Angle per position of each rotated pair, as ggml_rope_ext computes it without YaRN:
 * freqScale · theta^(−2i/dims) / factor_i, in float64.
 */
export function ropeFrequencies(r: LayerRope, factors: Float32Array | null): Float64Array {
  const half = r.dims / 2;
  return Float64Array.from(
    { length: half },
    (_, i) => (r.freqScale * r.theta ** ((-2 * i) / r.dims)) / (factors ? factors[i]! : 1),
  );
}

/** cos, sin (times attnFactor) of every pair at `pos`, interleaved into `out` (half × 2). */
export function ropeCosSin(
  freqs: Float64Array,
  pos: number,
  attnFactor: number,
  out: Float64Array | Float32Array,
): void {
  for (let i = 0; i < freqs.length; i++) {
    const a = pos * freqs[i]!;
    out[2 * i] = Math.cos(a) * attnFactor;
    out[2 * i + 1] = Math.sin(a) * attnFactor;
  }
}

/** What `edgelm inspect` prints: the features this model uses beyond a llama 2 layer. */
export function featureNames(c: ModelConfig): string[] {
  const f = c.features;
  const out: string[] = [`rope ${c.ropeStyle} θ=${c.ropeTheta}`];
  if (f.rope.dims !== c.headDim) out.push(`partial rotary ${f.rope.dims}/${c.headDim}`);
  if (f.rope.factors) out.push(`rope factors ${f.rope.factors}`);
  if (f.rope.freqScale !== 1) out.push(`rope linear scale ${1 / f.rope.freqScale}`);
  if (f.rope.attnFactor !== 1) out.push(`rope attn factor ${f.rope.attnFactor}`);
  if (c.qkvBias) out.push('q/k/v bias');
  if (f.qkNorm) out.push('q/k norm');
  if (f.postNorms) out.push('post-attention/FFN norms');
  out.push(f.activation === 'geglu' ? 'GeGLU (tanh)' : 'SwiGLU');
  if (f.embeddingScale !== 1) out.push(`embedding scale ${f.embeddingScale.toPrecision(5)}`);
  if (Math.abs(f.attnScale * Math.sqrt(c.headDim) - 1) > 1e-6) out.push(`attention scale ${f.attnScale}`);
  if (f.attnSoftcap) out.push(`attention soft-cap ${f.attnSoftcap}`);
  if (f.finalSoftcap) out.push(`logit soft-cap ${f.finalSoftcap}`);
  if (f.swa) {
    const n = f.swa.layers.filter(Boolean).length;
    out.push(`sliding window ${f.swa.window} on ${n}/${c.nLayers} layers (θ=${f.swa.theta})`);
  }
  if (f.fused.qkv) out.push('fused attn_qkv');
  if (f.fused.gateUp) out.push('fused ffn_up (gate|up)');
  if (c.nKvHeads < c.nHeads) out.push(`GQA ${c.nHeads}/${c.nKvHeads}`);
  out.push(c.tiedEmbeddings ? 'tied head' : 'untied head');
  return out;
}

/**
 * Each layer's RoPE frequencies (layers with the same RoPE share one array), given the values
 * of the model's factor tensor when it has one.
 */
export function layerFrequencies(c: ModelConfig, factors: Float32Array | null): Float64Array[] {
  const byKey = new Map<string, Float64Array>();
  return Array.from({ length: c.nLayers }, (_, l) => {
    const r = layerRope(c, l);
    const key = ropeKey(r);
    let f = byKey.get(key);
    if (!f) {
      f = ropeFrequencies(r, r.factors ? factors : null);
      byKey.set(key, f);
    }
    return f;
  });
}
