import { EdgeLMError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { TensorName } from '../model/config.js';
import type { TensorInfo } from '../model/model-file.js';
import { GGML_BLOCK, GGMLType } from './ggml-types.js';

/**
 * The file types `convert` writes, named as llama-quantize names them. Like llama.cpp's ftypes
 * they are mixes: `q4_k_m` keeps half the attn_v and ffn_down matrices and the output in Q6_K.
 */
export const FILE_TYPES = [
  'f32',
  'f16',
  'bf16',
  'q8_0',
  'q4_0',
  'q4_1',
  'q5_0',
  'q5_1',
  'q2_k',
  'q3_k_s',
  'q3_k_m',
  'q3_k_l',
  'q4_k_s',
  'q4_k_m',
  'q5_k_s',
  'q5_k_m',
  'q6_k',
  'iq4_nl',
  'iq4_xs',
] as const;
export type FileType = (typeof FILE_TYPES)[number];

interface FileTypeInfo {
  /** llama.cpp's enum llama_ftype, stored as `general.file_type`. */
  ftype: number;
  /** The type of most matrices, before llama_tensor_get_type's exceptions. */
  base: GGMLType;
}

const T = GGMLType;
const INFO: Record<FileType, FileTypeInfo> = {
  f32: { ftype: 0, base: T.F32 },
  f16: { ftype: 1, base: T.F16 },
  q4_0: { ftype: 2, base: T.Q4_0 },
  q4_1: { ftype: 3, base: T.Q4_1 },
  q8_0: { ftype: 7, base: T.Q8_0 },
  q5_0: { ftype: 8, base: T.Q5_0 },
  q5_1: { ftype: 9, base: T.Q5_1 },
  q2_k: { ftype: 10, base: T.Q2_K },
  q3_k_s: { ftype: 11, base: T.Q3_K },
  q3_k_m: { ftype: 12, base: T.Q3_K },
  q3_k_l: { ftype: 13, base: T.Q3_K },
  q4_k_s: { ftype: 14, base: T.Q4_K },
  q4_k_m: { ftype: 15, base: T.Q4_K },
  q5_k_s: { ftype: 16, base: T.Q5_K },
  q5_k_m: { ftype: 17, base: T.Q5_K },
  q6_k: { ftype: 18, base: T.Q6_K },
  iq4_nl: { ftype: 25, base: T.IQ4_NL },
  iq4_xs: { ftype: 30, base: T.IQ4_XS },
  bf16: { ftype: 32, base: T.BF16 },
};

export function isFileType(t: string): t is FileType {
  return (FILE_TYPES as readonly string[]).includes(t);
}

/** llama.cpp's `general.file_type` number for a file type. */
export function llamaFileType(type: FileType): number {
  return INFO[type].ftype;
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
function useMoreBits(i: number, n: number): boolean {
  const e = Math.trunc(n / 8);
  return i < e || i >= Math.trunc((7 * n) / 8) || (i - e) % 3 === 2;
}

/**
 * llama.cpp's fallback for a row that is not whole blocks of the chosen type (stories260K's
 * 172-wide FFN, TinyLlama-style 5632 rows under K-quants): K and IQ types go to a 32-block type
 * of similar size, then to F16 when even 32 does not divide the row. llama.cpp refuses the
 * legacy types' remainders outright; edgelm writes those in F16, which llama.cpp reads.
 */
function fallback(type: GGMLType, rowLength: number): GGMLType {
  if (rowLength % GGML_BLOCK[type].blockSize === 0) return type;
  const next: Partial<Record<GGMLType, GGMLType>> = {
    [T.Q2_K]: T.IQ4_NL,
    [T.Q3_K]: T.IQ4_NL,
    [T.IQ4_XS]: T.IQ4_NL,
    [T.Q4_K]: T.Q5_0,
    [T.Q5_K]: T.Q5_1,
    [T.Q6_K]: T.Q8_0,
  };
  const t = next[type];
  return t !== undefined && rowLength % GGML_BLOCK[t].blockSize === 0 ? t : T.F16;
}

const FLOAT_TYPES: readonly GGMLType[] = [T.F32, T.F16, T.BF16];

/**
 * The type of every tensor of a model converted to `type`, decided as llama.cpp's
 * llama_model_quantize does (llama_tensor_get_type for a llama-family model without an
 * importance matrix): 1-D tensors keep their float type; the output (or the embedding, when
 * tied) goes to Q6_K (Q8_0 stays Q8_0; Q8_0 when its rows are not whole blocks); attn_v,
 * ffn_down and attn_output get more bits by layer as each ftype says; rows that are not whole
 * blocks fall back to a smaller block type. `tensors` must be in file order, as llama.cpp
 * counts attn_v and ffn_down tensors in that order.
 *
 * @example
 * ```ts
 * const mix = tensorTypes(model.tensors, model.config, 'q4_k_m');
 * mix.get('blk.0.ffn_down.weight'); // GGMLType.Q6_K
 * ```
 */
export function tensorTypes(
  tensors: readonly TensorInfo[],
  config: Pick<ModelConfig, 'arch' | 'nLayers' | 'nHeads' | 'nKvHeads'>,
  type: FileType,
): Map<string, GGMLType> {
  const info = INFO[type];
  if (info === undefined) {
    throw new EdgeLMError('INVALID_ARGUMENT', `Unknown file type "${type}" (${FILE_TYPES.join(', ')})`, {
      type,
    });
  }
  const base = info.base;
  const gqa = config.nHeads / config.nKvHeads;
  // llama.cpp's LLM_TYPE_70B for llama: 80 layers with grouped-query attention.
  const is70B = config.arch === 'llama' && config.nLayers === 80 && config.nHeads !== config.nKvHeads;
  const hasOutput = tensors.some((t) => t.name === TensorName.output);
  const nAttnV = tensors.filter((t) => t.name.includes('attn_v.weight')).length;
  const nFfnDown = tensors.filter((t) => t.name.includes('ffn_down')).length;
  let iAttnV = 0;
  let iFfnDown = 0;
  const out = new Map<string, GGMLType>();
  for (const t of tensors) {
    const dims = t.shape.filter((d) => d !== 1).length;
    if (!t.name.endsWith('weight') || dims < 2) {
      out.set(t.name, FLOAT_TYPES.includes(t.type) ? t.type : T.F32);
      continue;
    }
    if (FLOAT_TYPES.includes(base)) {
      out.set(t.name, base);
      continue;
    }
    const rowLength = t.shape[0];
    let nt = base;
    const name = t.name;
    if (name === TensorName.output || (!hasOutput && name === TensorName.tokenEmbd)) {
      if (rowLength % GGML_BLOCK[base].blockSize !== 0) nt = T.Q8_0;
      else if (nt !== T.Q8_0) nt = T.Q6_K;
    } else if (name === TensorName.tokenEmbd) {
      // Kept at the base type for the ftypes edgelm writes (llama.cpp lowers it for IQ2/IQ1).
    } else if (name.includes('attn_v.weight')) {
      if (type === 'q2_k') nt = gqa >= 4 ? T.Q4_K : T.Q3_K;
      else if (type === 'q3_k_m') nt = iAttnV < 2 ? T.Q5_K : T.Q4_K;
      else if (type === 'q3_k_l') nt = T.Q5_K;
      else if ((type === 'iq4_nl' || type === 'iq4_xs') && gqa >= 4) nt = T.Q5_K;
      else if ((type === 'q4_k_m' || type === 'q5_k_m') && useMoreBits(iAttnV, nAttnV)) nt = T.Q6_K;
      else if (type === 'q4_k_s' && iAttnV < 4) nt = T.Q5_K;
      // 70B shares each attn_v across 8 heads, so more bits there cost almost nothing.
      if (is70B && (nt === T.Q3_K || nt === T.Q4_K)) nt = T.Q5_K;
      iAttnV++;
    } else if (name.includes('ffn_down')) {
      const i = iFfnDown;
      const n = nFfnDown;
      if (type === 'q2_k') nt = T.Q3_K;
      else if (type === 'q3_k_m') nt = i < Math.trunc(n / 16) ? T.Q5_K : T.Q4_K;
      else if (type === 'q3_k_l') nt = T.Q5_K;
      else if (type === 'q4_k_m') {
        if (useMoreBits(i, n)) nt = T.Q6_K;
      } else if (i < Math.trunc(n / 8) && (type === 'iq4_nl' || type === 'iq4_xs')) nt = T.Q5_K;
      else if (type === 'q5_k_m' && useMoreBits(i, n)) nt = T.Q6_K;
      else if (type === 'q4_k_s' && i < Math.trunc(n / 8)) nt = T.Q5_K;
      iFfnDown++;
    } else if (name.includes('attn_output.weight')) {
      if (type === 'q2_k') nt = T.Q3_K;
      else if (type === 'q3_k_m') nt = T.Q4_K;
      else if (type === 'q3_k_l') nt = T.Q5_K;
    }
    out.set(name, fallback(nt, rowLength));
  }
  return out;
}
