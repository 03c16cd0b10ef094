/**
 * The shape of a llama-family decoder, named after what the math needs rather than any one
 * file format: both llama2.c headers and GGUF metadata are translated into this.
 */
export interface ModelConfig {
  /** Architecture as GGUF names it. */
  arch: 'llama' | 'mistral' | 'qwen2';
  /** Residual stream width. */
  dim: number;
  /** SwiGLU inner width. */
  hiddenDim: number;
  nLayers: number;
  /** Query heads. */
  nHeads: number;
  /** Key/value heads (grouped-query attention when smaller than nHeads). */
  nKvHeads: number;
  /** dim / nHeads. */
  headDim: number;
  vocabSize: number;
  /** Longest sequence the model was trained for. */
  contextLength: number;
  normEps: number;
  ropeTheta: number;
  /** 'interleaved' rotates pairs (2i, 2i+1) (llama, llama2.c); 'neox' rotates (i, i + headDim/2) (qwen2). */
  ropeStyle: 'interleaved' | 'neox';
  /** True when the output head reuses the token embedding. */
  tiedEmbeddings: boolean;
  /** True when q/k/v projections carry biases (qwen2). */
  qkvBias: boolean;
}

/** Tensor names, GGUF style; every loader maps its file onto these. */
export const TensorName = {
  tokenEmbd: 'token_embd.weight',
  outputNorm: 'output_norm.weight',
  output: 'output.weight',
  attnNorm: (l: number) => `blk.${l}.attn_norm.weight`,
  attnQ: (l: number) => `blk.${l}.attn_q.weight`,
  attnK: (l: number) => `blk.${l}.attn_k.weight`,
  attnV: (l: number) => `blk.${l}.attn_v.weight`,
  attnQBias: (l: number) => `blk.${l}.attn_q.bias`,
  attnKBias: (l: number) => `blk.${l}.attn_k.bias`,
  attnVBias: (l: number) => `blk.${l}.attn_v.bias`,
  attnOutput: (l: number) => `blk.${l}.attn_output.weight`,
  ffnNorm: (l: number) => `blk.${l}.ffn_norm.weight`,
  ffnGate: (l: number) => `blk.${l}.ffn_gate.weight`,
  ffnUp: (l: number) => `blk.${l}.ffn_up.weight`,
  ffnDown: (l: number) => `blk.${l}.ffn_down.weight`,
} as const;
