import type { ArchFeatures } from './features.js';

/** Architectures as GGUF's `general.architecture` names them. */
export type Architecture = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma3' | 'phi3';

/**
 * The shape of a decoder-only transformer, named after what the math needs rather than any one
 * file format: llama2.c headers, GGUF metadata and ONNX configs are all translated into this.
 * What differs between architectures (norm placement, RoPE variant, activation, caps, sliding
 * windows) is data in `features`, read by every backend (see model/README.md).
 */
export interface ModelConfig {
  /** Architecture as GGUF names it. */
  arch: Architecture;
  /** Residual stream width. */
  dim: number;
  /** Feed-forward inner width (of the gate, and of the up projection). */
  hiddenDim: number;
  nLayers: number;
  /** Query heads. */
  nHeads: number;
  /** Key/value heads (grouped-query attention when smaller than nHeads). */
  nKvHeads: number;
  /** Size of one head (dim / nHeads unless the file says otherwise: qwen3, gemma3). */
  headDim: number;
  vocabSize: number;
  /** Longest sequence the model runs (its KV cache capacity). */
  contextLength: number;
  normEps: number;
  /** RoPE base of the full-attention layers. */
  ropeTheta: number;
  /** 'interleaved' rotates pairs (2i, 2i+1) (llama, llama2.c); 'neox' rotates (i, i + dims/2) (qwen, gemma, phi3). */
  ropeStyle: 'interleaved' | 'neox';
  /** True when the output head reuses the token embedding. */
  tiedEmbeddings: boolean;
  /** True when q/k/v projections carry biases (qwen2). */
  qkvBias: boolean;
  /** Everything else one architecture does differently from llama 2. */
  features: ArchFeatures;
}

/** Tensor names, GGUF style (llama.cpp's llama-arch.cpp); every loader maps its file onto these. */
export const TensorName = {
  tokenEmbd: 'token_embd.weight',
  outputNorm: 'output_norm.weight',
  output: 'output.weight',
  /** Llama 3 frequency divisors, one per rotated pair. */
  ropeFreqs: 'rope_freqs.weight',
  /** Phi-3 LongRoPE divisors: short for contexts up to the original one, long beyond. */
  ropeFactorsShort: 'rope_factors_short.weight',
  ropeFactorsLong: 'rope_factors_long.weight',
  attnNorm: (l: number) => `blk.${l}.attn_norm.weight`,
  attnQ: (l: number) => `blk.${l}.attn_q.weight`,
  attnK: (l: number) => `blk.${l}.attn_k.weight`,
  attnV: (l: number) => `blk.${l}.attn_v.weight`,
  /** Phi-3's fused q/k/v projection (rows q, then k, then v). */
  attnQkv: (l: number) => `blk.${l}.attn_qkv.weight`,
  attnQBias: (l: number) => `blk.${l}.attn_q.bias`,
  attnKBias: (l: number) => `blk.${l}.attn_k.bias`,
  attnVBias: (l: number) => `blk.${l}.attn_v.bias`,
  attnQNorm: (l: number) => `blk.${l}.attn_q_norm.weight`,
  attnKNorm: (l: number) => `blk.${l}.attn_k_norm.weight`,
  attnOutput: (l: number) => `blk.${l}.attn_output.weight`,
  attnPostNorm: (l: number) => `blk.${l}.post_attention_norm.weight`,
  ffnNorm: (l: number) => `blk.${l}.ffn_norm.weight`,
  ffnGate: (l: number) => `blk.${l}.ffn_gate.weight`,
  ffnUp: (l: number) => `blk.${l}.ffn_up.weight`,
  ffnDown: (l: number) => `blk.${l}.ffn_down.weight`,
  ffnPostNorm: (l: number) => `blk.${l}.post_ffw_norm.weight`,
} as const;
