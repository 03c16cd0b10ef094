import { EdgeLMError } from '../errors.js';

/** Tensor element types, numbered as GGUF numbers them. */
export const GGMLType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
} as const;
export type GGMLType = (typeof GGMLType)[keyof typeof GGMLType];

/** Block geometry of each type: `blockSize` elements take `blockBytes` bytes. */
export const GGML_BLOCK: Record<GGMLType, { blockSize: number; blockBytes: number; name: string }> = {
  [GGMLType.F32]: { blockSize: 1, blockBytes: 4, name: 'F32' },
  [GGMLType.F16]: { blockSize: 1, blockBytes: 2, name: 'F16' },
  [GGMLType.Q4_0]: { blockSize: 32, blockBytes: 18, name: 'Q4_0' },
  [GGMLType.Q8_0]: { blockSize: 32, blockBytes: 34, name: 'Q8_0' },
  [GGMLType.Q4_K]: { blockSize: 256, blockBytes: 144, name: 'Q4_K' },
  [GGMLType.Q6_K]: { blockSize: 256, blockBytes: 210, name: 'Q6_K' },
};

export function isSupportedType(t: number): t is GGMLType {
  return Object.hasOwn(GGML_BLOCK, t);
}

export function typeName(t: number): string {
  return isSupportedType(t) ? GGML_BLOCK[t].name : `type#${t}`;
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
