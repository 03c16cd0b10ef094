import { EdgeLMError } from '../../errors.js';
import type { MetadataValue } from '../../model/model-file.js';

/** Metadata value types, numbered as GGUF numbers them. */
export const GgufType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufTypeName = keyof typeof GgufType;
export type GgufScalarTypeName = Exclude<GgufTypeName, 'array'>;

const TYPE_NAMES: GgufTypeName[] = Object.keys(GgufType) as GgufTypeName[];

/** The name of a numbered value type, or undefined when GGUF has no such type. */
export function ggufTypeName(code: number): GgufTypeName | undefined {
  return TYPE_NAMES[code];
}

/** Bytes a scalar of this type takes on disk (strings: their length prefix only). */
export const SCALAR_BYTES: Record<GgufScalarTypeName, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  string: 8,
  u64: 8,
  i64: 8,
  f64: 8,
};

export type GgufScalar = number | bigint | boolean | string;

/**
 * A metadata value with its on-disk type, so files round-trip exactly. Flat arrays keep their
 * items as plain JS values (a 150k-entry vocabulary stays one array); only arrays of arrays
 * wrap each inner array, because every inner array carries its own item type.
 */
export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufScalarTypeName; value: GgufScalar[] }
  | { type: 'array'; itemType: 'array'; value: GgufArrayValue[] };

export type GgufArrayValue = Extract<GgufValue, { type: 'array' }>;

/** Shorthands for building typed metadata, e.g. `gguf.u32(4096)`, `gguf.array('string', tokens)`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'i64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  array: (itemType: GgufScalarTypeName, value: GgufScalar[]): GgufArrayValue => ({
    type: 'array',
    itemType,
    value,
  }),
  nested: (value: GgufArrayValue[]): GgufArrayValue => ({ type: 'array', itemType: 'array', value }),
};

/** Drops the type tags: the form `ModelFile.metadata` exposes. */
export function plainValue(v: GgufValue): MetadataValue {
  if (v.type !== 'array') return v.value;
  if (v.itemType === 'array') return (v.value as GgufArrayValue[]).map(plainValue);
  return v.value as MetadataValue[];
}

/** Reads an integer-typed value as a safe JS number; anything else is CORRUPT. */
export function integerOf(v: GgufValue, key: string): number {
  const n = v.type === 'u64' || v.type === 'i64' ? Number(v.value) : v.value;
  const integerTypes = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64'];
  if (!integerTypes.includes(v.type) || typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new EdgeLMError('CORRUPT', `Metadata "${key}" should be an integer, found ${v.type}`, {
      key,
      type: v.type,
    });
  }
  return n;
}
