import { check } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { llamaFeatures } from '../../model/features.js';
import type { TokenizerData } from '../../tokenizer/tokenizer-data.js';
import type { OnnxWeightFormat } from './decoder-graph.js';

/** File names of an exported model directory, shared by the exporter and the backend's loader. */
export const OnnxFiles = {
  model: 'model.onnx',
  config: 'config.json',
  tokenizer: 'tokenizer-data.json',
} as const;

/**
 * `config.json` beside `model.onnx`: the Hugging Face `LlamaConfig` fields (so tools that read
 * Optimum exports understand it) plus an `edgelm` block with what HF's fields cannot say, such as
 * the RoPE style the q/k weights were permuted from.
 */
export interface OnnxConfigJson {
  architectures: string[];
  model_type: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  bos_token_id: number;
  eos_token_id: number;
  torch_dtype: 'float32';
  edgelm: { config: ModelConfig; weights: OnnxWeightFormat; layout: 'optimum-decoder-with-past' };
}

export function toOnnxConfigJson(
  c: ModelConfig,
  tok: TokenizerData,
  weights: OnnxWeightFormat,
): OnnxConfigJson {
  return {
    architectures: [c.arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: c.arch,
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.contextLength,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tiedEmbeddings,
    bos_token_id: tok.bos,
    eos_token_id: tok.eos,
    torch_dtype: 'float32',
    edgelm: { config: c, weights, layout: 'optimum-decoder-with-past' },
  };
}

function num(json: Record<string, unknown>, key: string): number {
  const v = json[key];
  check(typeof v === 'number' && Number.isFinite(v), 'CORRUPT', `config.json has no numeric "${key}"`, {
    key,
  });
  return v;
}

/**
 * Reads the model shape from a `config.json`: ours carries it whole; a plain Hugging Face Llama
 * config is translated field by field (its q/k weights are already in NeoX order).
 */
export function modelConfigFromJson(json: unknown): ModelConfig {
  check(typeof json === 'object' && json !== null, 'CORRUPT', 'config.json is not an object');
  const j = json as Record<string, unknown>;
  const ours = (j.edgelm as { config?: ModelConfig } | undefined)?.config;
  // Exports from before architecture features were recorded are llama-2 layers.
  if (ours) return { ...ours, features: ours.features ?? llamaFeatures(ours.headDim) };
  const nHeads = num(j, 'num_attention_heads');
  const dim = num(j, 'hidden_size');
  const type = j.model_type;
  return {
    arch: type === 'qwen2' ? 'qwen2' : type === 'mistral' ? 'mistral' : 'llama',
    dim,
    hiddenDim: num(j, 'intermediate_size'),
    nLayers: num(j, 'num_hidden_layers'),
    nHeads,
    nKvHeads: typeof j.num_key_value_heads === 'number' ? j.num_key_value_heads : nHeads,
    headDim: typeof j.head_dim === 'number' ? j.head_dim : dim / nHeads,
    vocabSize: num(j, 'vocab_size'),
    contextLength: num(j, 'max_position_embeddings'),
    normEps: num(j, 'rms_norm_eps'),
    ropeTheta: typeof j.rope_theta === 'number' ? j.rope_theta : 10000,
    ropeStyle: 'neox',
    tiedEmbeddings: j.tie_word_embeddings === true,
    qkvBias: type === 'qwen2',
    features: llamaFeatures(typeof j.head_dim === 'number' ? j.head_dim : dim / nHeads),
  };
}

/** `tokenizer-data.json`: the {@link TokenizerData} the SDK's tokenizer is built from, typed arrays as arrays. */
export interface TokenizerJson extends Omit<TokenizerData, 'scores' | 'tokenTypes'> {
  format: 'edgelm-tokenizer-data';
  version: 1;
  scores: number[];
  tokenTypes?: number[];
}

export function tokenizerToJson(t: TokenizerData): TokenizerJson {
  return {
    ...t,
    format: 'edgelm-tokenizer-data',
    version: 1,
    scores: Array.from(t.scores),
    tokenTypes: t.tokenTypes ? Array.from(t.tokenTypes) : undefined,
  };
}

export function tokenizerFromJson(json: unknown): TokenizerData {
  const j = json as Partial<TokenizerJson> | null;
  check(j?.format === 'edgelm-tokenizer-data', 'CORRUPT', 'Not an edgelm tokenizer-data.json');
  check(
    Array.isArray(j.tokens) && Array.isArray(j.scores),
    'CORRUPT',
    'tokenizer-data.json lacks tokens or scores',
  );
  const { format: _f, version: _v, scores, tokenTypes, ...rest } = j as TokenizerJson;
  return {
    ...rest,
    scores: Float32Array.from(scores),
    tokenTypes: tokenTypes ? Int32Array.from(tokenTypes) : undefined,
  };
}
