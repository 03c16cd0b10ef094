import { EdgeLMError } from '../errors.js';

/**
 * Tensor element types, numbered as ggml/GGUF number them. Every type ggml defines is named here
 * (so errors and `inspect` say `IQ2_XXS`, never `type#16`); {@link isSupportedType} tells which
 * ones edgelm can read.
 */
export const GGMLType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;
export type AnyGGMLType = (typeof GGMLType)[keyof typeof GGMLType];

/** The types whose weights edgelm reads and runs (the rest are named, then refused). */
export const SUPPORTED_TYPES = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
  GGMLType.Q2_K,
  GGMLType.Q3_K,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
  GGMLType.IQ4_NL,
  GGMLType.IQ4_XS,
] as const;
export type GGMLType = (typeof SUPPORTED_TYPES)[number];

/** Block geometry of a type: `blockSize` elements take `blockBytes` bytes (ggml's block structs). */
export interface BlockGeometry {
  blockSize: number;
  blockBytes: number;
  name: string;
}

/** Every ggml type's block geometry, from ggml-common.h's block definitions. */
export const GGML_BLOCK_ANY: Readonly<Record<AnyGGMLType, BlockGeometry>> = {
  [GGMLType.F32]: { blockSize: 1, blockBytes: 4, name: 'F32' },
  [GGMLType.F16]: { blockSize: 1, blockBytes: 2, name: 'F16' },
  [GGMLType.Q4_0]: { blockSize: 32, blockBytes: 18, name: 'Q4_0' }, // d, qs[16]
  [GGMLType.Q4_1]: { blockSize: 32, blockBytes: 20, name: 'Q4_1' }, // d, m, qs[16]
  [GGMLType.Q5_0]: { blockSize: 32, blockBytes: 22, name: 'Q5_0' }, // d, qh[4], qs[16]
  [GGMLType.Q5_1]: { blockSize: 32, blockBytes: 24, name: 'Q5_1' }, // d, m, qh[4], qs[16]
  [GGMLType.Q8_0]: { blockSize: 32, blockBytes: 34, name: 'Q8_0' }, // d, qs[32]
  [GGMLType.Q8_1]: { blockSize: 32, blockBytes: 36, name: 'Q8_1' }, // d, s, qs[32]
  [GGMLType.Q2_K]: { blockSize: 256, blockBytes: 84, name: 'Q2_K' }, // scales[16], qs[64], d, dmin
  [GGMLType.Q3_K]: { blockSize: 256, blockBytes: 110, name: 'Q3_K' }, // hmask[32], qs[64], scales[12], d
  [GGMLType.Q4_K]: { blockSize: 256, blockBytes: 144, name: 'Q4_K' }, // d, dmin, scales[12], qs[128]
  [GGMLType.Q5_K]: { blockSize: 256, blockBytes: 176, name: 'Q5_K' }, // d, dmin, scales[12], qh[32], qs[128]
  [GGMLType.Q6_K]: { blockSize: 256, blockBytes: 210, name: 'Q6_K' }, // ql[128], qh[64], scales[16], d
  [GGMLType.Q8_K]: { blockSize: 256, blockBytes: 292, name: 'Q8_K' }, // d (f32), qs[256], bsums[16]
  [GGMLType.IQ2_XXS]: { blockSize: 256, blockBytes: 66, name: 'IQ2_XXS' },
  [GGMLType.IQ2_XS]: { blockSize: 256, blockBytes: 74, name: 'IQ2_XS' },
  [GGMLType.IQ3_XXS]: { blockSize: 256, blockBytes: 98, name: 'IQ3_XXS' },
  [GGMLType.IQ1_S]: { blockSize: 256, blockBytes: 50, name: 'IQ1_S' },
  [GGMLType.IQ4_NL]: { blockSize: 32, blockBytes: 18, name: 'IQ4_NL' }, // d, qs[16]
  [GGMLType.IQ3_S]: { blockSize: 256, blockBytes: 110, name: 'IQ3_S' },
  [GGMLType.IQ2_S]: { blockSize: 256, blockBytes: 82, name: 'IQ2_S' },
  [GGMLType.IQ4_XS]: { blockSize: 256, blockBytes: 136, name: 'IQ4_XS' }, // d, scales_h, scales_l[4], qs[128]
  [GGMLType.I8]: { blockSize: 1, blockBytes: 1, name: 'I8' },
  [GGMLType.I16]: { blockSize: 1, blockBytes: 2, name: 'I16' },
  [GGMLType.I32]: { blockSize: 1, blockBytes: 4, name: 'I32' },
  [GGMLType.I64]: { blockSize: 1, blockBytes: 8, name: 'I64' },
  [GGMLType.F64]: { blockSize: 1, blockBytes: 8, name: 'F64' },
  [GGMLType.IQ1_M]: { blockSize: 256, blockBytes: 56, name: 'IQ1_M' },
  [GGMLType.BF16]: { blockSize: 1, blockBytes: 2, name: 'BF16' },
  [GGMLType.TQ1_0]: { blockSize: 256, blockBytes: 54, name: 'TQ1_0' },
  [GGMLType.TQ2_0]: { blockSize: 256, blockBytes: 66, name: 'TQ2_0' },
  [GGMLType.MXFP4]: { blockSize: 32, blockBytes: 17, name: 'MXFP4' }, // e, qs[16]
};

/** Block geometry of the supported types. */
export const GGML_BLOCK: Readonly<Record<GGMLType, BlockGeometry>> = Object.fromEntries(
  SUPPORTED_TYPES.map((t) => [t, GGML_BLOCK_ANY[t]]),
) as Record<GGMLType, BlockGeometry>;

/** True for a number ggml defines as a type (supported or not). */
export function isKnownType(t: number): t is AnyGGMLType {
  return Object.hasOwn(GGML_BLOCK_ANY, t);
}

export function isSupportedType(t: number): t is GGMLType {
  return (SUPPORTED_TYPES as readonly number[]).includes(t);
}

/** The type's ggml name (`Q5_K`); a number ggml does not define reads `type#N`. */
export function typeName(t: number): string {
  return isKnownType(t) ? GGML_BLOCK_ANY[t].name : `type#${t}`;
}

export function parseTypeName(name: string): GGMLType {
  const entry = Object.entries(GGML_BLOCK).find(([, v]) => v.name.toLowerCase() === name.toLowerCase());
  if (!entry) throw new EdgeLMError('UNSUPPORTED_TYPE', `Unknown tensor type "${name}"`, { type: name });
  return Number(entry[0]) as GGMLType;
}

/** Bytes taken by `elements` values of type `t`; throws when the count is not a whole number of blocks. */
export function tensorBytes(t: GGMLType, elements: number): number {
  const { blockSize, blockBytes } = GGML_BLOCK[t];
  if (elements % blockSize !== 0) {
    throw new EdgeLMError(
      'CORRUPT',
      `${GGML_BLOCK[t].name} tensor of ${elements} elements is not whole blocks`,
      {
        elements,
        blockSize,
      },
    );
  }
  return (elements / blockSize) * blockBytes;
}
