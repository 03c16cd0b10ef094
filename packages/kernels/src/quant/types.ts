/**
 * The weight types the kernels read, as data: ggml's block geometry, where the GPU layout puts
 * each block's parts, and how a shader reads one group of elements. GGUF blocks of 18, 22, 34,
 * 110 or 210 bytes are not 4-byte aligned; their f16 `d` (first or last two bytes) moves to a
 * side area of halves and the rest of the block stays as ggml lays it out, in whole u32 words.
 * Every layout is the file's size (plus < 4 bytes of padding): nothing is widened.
 */
export type WeightType =
  | 'f32'
  | 'f16'
  | 'bf16'
  | 'q8_0'
  | 'q4_0'
  | 'q4_1'
  | 'q5_0'
  | 'q5_1'
  | 'q2_k'
  | 'q3_k'
  | 'q4_k'
  | 'q5_k'
  | 'q6_k'
  | 'iq4_nl'
  | 'iq4_xs';

export interface TypeInfo {
  /** ggml's name, for errors. */
  name: string;
  /** GGUF type number. */
  ggml: number;
  /** Elements per block (1 for float types). */
  blockElems: number;
  /** GGUF bytes per block. */
  blockBytes: number;
  /** Where the block's f16 `d` is moved out from: its first or last two bytes; null: kept in place. */
  dSplit: 'start' | 'end' | null;
  /** Elements sharing one (scale, offset) pair: 16 or 32; 0 for float types. */
  group: number;
  /** True when a group's values are `scale·q + offset` with offset ≠ 0 (the kernels then sum x). */
  hasMin: boolean;
}

const t = (
  name: string,
  ggml: number,
  blockElems: number,
  blockBytes: number,
  dSplit: TypeInfo['dSplit'],
  group: number,
  hasMin: boolean,
): TypeInfo => ({ name, ggml, blockElems, blockBytes, dSplit, group, hasMin });

export const WEIGHT_TYPES: Readonly<Record<WeightType, TypeInfo>> = {
  f32: t('F32', 0, 1, 4, null, 0, false),
  f16: t('F16', 1, 1, 2, null, 0, false),
  bf16: t('BF16', 30, 1, 2, null, 0, false),
  q8_0: t('Q8_0', 8, 32, 34, 'start', 32, false), // d, qs[32]
  q4_0: t('Q4_0', 2, 32, 18, 'start', 32, false), // d, qs[16]
  q4_1: t('Q4_1', 3, 32, 20, null, 32, true), // d, m, qs[16]
  q5_0: t('Q5_0', 6, 32, 22, 'start', 32, false), // d, qh[4], qs[16]
  q5_1: t('Q5_1', 7, 32, 24, null, 32, true), // d, m, qh[4], qs[16]
  q2_k: t('Q2_K', 10, 256, 84, null, 16, true), // scales[16], qs[64], d, dmin
  q3_k: t('Q3_K', 11, 256, 110, 'end', 16, false), // hmask[32], qs[64], scales[12], d
  q4_k: t('Q4_K', 12, 256, 144, null, 32, true), // d, dmin, scales[12], qs[128]
  q5_k: t('Q5_K', 13, 256, 176, null, 32, true), // d, dmin, scales[12], qh[32], qs[128]
  q6_k: t('Q6_K', 14, 256, 210, 'end', 16, false), // ql[128], qh[64], scales[16], d
  iq4_nl: t('IQ4_NL', 20, 32, 18, 'start', 32, false), // d, qs[16]
  iq4_xs: t('IQ4_XS', 23, 256, 136, null, 32, false), // d, scales_h, scales_l[4], qs[128]
};

/** Weight types by GGUF type number. */
export const GGML_WEIGHT_TYPE: Readonly<Record<number, WeightType>> = Object.fromEntries(
  Object.entries(WEIGHT_TYPES).map(([k, v]) => [v.ggml, k as WeightType]),
);

export function isFloatType(type: WeightType): boolean {
  return WEIGHT_TYPES[type].blockElems === 1;
}

export function isQuantized(type: WeightType): boolean {
  return !isFloatType(type);
}

/**
 * Elements per int8 block of the activations llama.cpp dots a matrix of this type against (its
 * `vec_dot_type`: Q8_0/Q8_1 per 32, Q8_K per 256 for the K types and IQ4_XS); 0 for the float
 * types, which keep f32 activations.
 */
export function q8Block(type: WeightType): number {
  return isFloatType(type) ? 0 : WEIGHT_TYPES[type].blockElems;
}

/** u32 words of one block in the GPU layout (its `d` excluded when it moves out). */
export function blockWords(type: WeightType): number {
  const i = WEIGHT_TYPES[type];
  return (i.blockBytes - (i.dSplit ? 2 : 0)) / 4;
}

/** The IQ4_NL/IQ4_XS non-linear code book (ggml's kvalues_iq4nl). */
export const IQ4_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
