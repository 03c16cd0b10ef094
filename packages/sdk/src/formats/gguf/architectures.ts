import { EdgeLMError } from '../../errors.js';
import { type Architecture, TensorName as T } from '../../model/config.js';
import { type ArchFeatures, llamaFeatures } from '../../model/features.js';
import type { GgufMetadata } from './metadata.js';

/** What an architecture reader sees: the metadata, which tensors exist, and the shared sizes. */
export interface ArchInput {
  md: GgufMetadata;
  has: (tensor: string) => boolean;
  arch: Architecture;
  dim: number;
  headDim: number;
  nHeads: number;
  nLayers: number;
  contextLength: number;
}

export interface ArchReading {
  ropeStyle: 'interleaved' | 'neox';
  features: ArchFeatures;
}

/** RoPE keys every architecture shares (llama-model.cpp's load_hparams). */
function ropeOf(x: ArchInput): ArchFeatures['rope'] {
  const { md, arch } = x;
  const type = md.optionalString(`${arch}.rope.scaling.type`) ?? 'none';
  if (type === 'yarn') {
    throw new EdgeLMError('UNSUPPORTED_TYPE', `YaRN RoPE scaling is not supported yet`, { arch, rope: type });
  }
  const factor = md.has(`${arch}.rope.scaling.factor`) ? md.positive(`${arch}.rope.scaling.factor`, 1) : 0;
  const dims = md.int(`${arch}.rope.dimension_count`, 2, x.headDim, x.headDim);
  if (dims % 2 !== 0)
    throw new EdgeLMError('CORRUPT', `RoPE over ${dims} dimensions is not pairwise`, { dims });
  return {
    dims,
    freqScale: factor === 0 || type === 'none' ? 1 : 1 / factor,
    attnFactor: md.positive(`${arch}.rope.scaling.attn_factor`, 1),
    factors: x.has(T.ropeFreqs) ? T.ropeFreqs : null,
  };
}

function base(x: ArchInput): ArchFeatures {
  return { ...llamaFeatures(x.headDim), rope: ropeOf(x) };
}

/** llama, mistral: Llama 2 and 3.x (rope_freqs), SmolLM2, TinyLlama; adjacent-pair RoPE (the converter permutes q/k). */
function llama(x: ArchInput): ArchReading {
  return { ropeStyle: 'interleaved', features: base(x) };
}

/** qwen2: biases on q/k/v (seen in the tensors), NeoX RoPE. */
function qwen2(x: ArchInput): ArchReading {
  return { ropeStyle: 'neox', features: base(x) };
}

/** qwen3: per-head q/k RMSNorm before RoPE, NeoX RoPE, no biases. */
function qwen3(x: ArchInput): ArchReading {
  return { ropeStyle: 'neox', features: { ...base(x), qkNorm: true } };
}

/**
 * gemma3: √dim embedding scale, q/k norms, post-attention and post-FFN norms, GeGLU, and every
 * sixth layer global: the other five slide over `attention.sliding_window` keys with RoPE base
 * 10000 and no scaling (llama.cpp's set_swa_pattern(6)). Norm weights are stored with gemma's
 * +1 already added by the converter, so they are plain RMSNorm weights here.
 */
function gemma3(x: ArchInput): ArchReading {
  const { md, arch } = x;
  const f = base(x);
  const window = md.int(`${arch}.attention.sliding_window`, 0, 1 << 24, 0);
  return {
    ropeStyle: 'neox',
    features: {
      ...f,
      qkNorm: true,
      postNorms: true,
      activation: 'geglu',
      embeddingScale: Math.sqrt(x.dim),
      // gemma_pytorch: 27B scales by dim / nHeads, the others by the head size.
      attnScale: x.nLayers === 62 ? 1 / Math.sqrt(x.dim / x.nHeads) : 1 / Math.sqrt(x.headDim),
      attnSoftcap: md.has(`${arch}.attn_logit_softcapping`)
        ? md.positive(`${arch}.attn_logit_softcapping`, 0)
        : 0,
      finalSoftcap: md.has(`${arch}.final_logit_softcapping`)
        ? md.positive(`${arch}.final_logit_softcapping`, 0)
        : 0,
      swa:
        window > 0
          ? { window, layers: Array.from({ length: x.nLayers }, (_, l) => l % 6 < 5), theta: 10000 }
          : null,
    },
  };
}

/**
 * phi3: NeoX RoPE with LongRoPE factors (short up to `rope.scaling.original_context_length`,
 * long past it, as llama.cpp's get_rope_factors picks by the context it runs), fused attn_qkv
 * and ffn_up holding gate then up. llama.cpp disables Phi-3's sliding window; so do we.
 */
function phi3(x: ArchInput): ArchReading {
  const { md, arch } = x;
  const f = base(x);
  const orig = md.int(`${arch}.rope.scaling.original_context_length`, 1, 1 << 24, x.contextLength);
  const factors =
    f.rope.factors ??
    (x.has(T.ropeFactorsShort) && (x.contextLength <= orig || !x.has(T.ropeFactorsLong))
      ? T.ropeFactorsShort
      : x.has(T.ropeFactorsLong)
        ? T.ropeFactorsLong
        : null);
  return {
    ropeStyle: 'neox',
    features: {
      ...f,
      rope: { ...f.rope, factors },
      fused: { qkv: x.has(T.attnQkv(0)), gateUp: !x.has(T.ffnGate(0)) },
    },
  };
}

/** One reader per `general.architecture`, each composing the shared parts (llm_build_* style). */
export const ARCHITECTURES: Record<Architecture, (x: ArchInput) => ArchReading> = {
  llama,
  mistral: llama,
  qwen2,
  qwen3,
  gemma3,
  phi3,
};

export function isArchitecture(a: string): a is Architecture {
  return Object.hasOwn(ARCHITECTURES, a);
}
