/**
 * Every supported type's dequantization checked bit for bit against a reference written here
 * from ggml-common.h's block structs: each value is computed on its own from its position in
 * the block (the implementation walks the block in ggml's loop order instead), with C float
 * arithmetic (every product and sum rounded to f32, no fused multiply-add).
 */
import { describe, expect, it } from 'vitest';
import { EdgeLMError } from '../src/errors.js';
import { GGML_BLOCK, GGMLType, SUPPORTED_TYPES, typeName } from '../src/formats/ggml-types.js';
import { dequantize } from '../src/formats/quant/index.js';

const f = Math.fround;

/** IEEE half from its bits, written from the format rather than reusing f16.ts. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const hf = (b: Uint8Array, o: number) => half(u16(b, o));
const i8 = (v: number) => (v > 127 ? v - 256 : v);
const nib = (b: Uint8Array, o: number, j: number) => (j < 16 ? b[o + j] & 15 : b[o + j - 16] >> 4);
/** Bit `k` of a little-endian bit string starting at byte o. */
const bit = (b: Uint8Array, o: number, k: number) => (b[o + (k >> 3)] >> (k & 7)) & 1;
const IQ4 = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** 6-bit scale/min pair j of the K-quants' 12-byte packing, as the block comment describes. */
function k4(s: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [s[o + j] & 63, s[o + j + 4] & 63];
  return [(s[o + j + 4] & 15) | ((s[o + j - 4] >> 6) << 4), (s[o + j + 4] >> 4) | ((s[o + j] >> 6) << 4)];
}

/** Value i (0 ≤ i < block size) of the block at byte o. */
const REF: Record<GGMLType, (b: Uint8Array, o: number, i: number) => number> = {
  [GGMLType.F32]: (b, o) => new DataView(b.buffer, b.byteOffset + o, 4).getFloat32(0, true),
  [GGMLType.F16]: (b, o) => hf(b, o),
  [GGMLType.BF16]: (b, o) => new DataView(new Uint8Array([0, 0, b[o], b[o + 1]]).buffer).getFloat32(0, true),
  [GGMLType.Q8_0]: (b, o, i) => f(i8(b[o + 2 + i]) * hf(b, o)),
  [GGMLType.Q4_0]: (b, o, i) => f((nib(b, o + 2, i) - 8) * hf(b, o)),
  [GGMLType.Q4_1]: (b, o, i) => f(f(nib(b, o + 4, i) * hf(b, o)) + hf(b, o + 2)),
  [GGMLType.Q5_0]: (b, o, i) => f((nib(b, o + 6, i) + 16 * bit(b, o + 2, i) - 16) * hf(b, o)),
  [GGMLType.Q5_1]: (b, o, i) => f(f((nib(b, o + 8, i) + 16 * bit(b, o + 4, i)) * hf(b, o)) + hf(b, o + 2)),
  [GGMLType.Q2_K]: (b, o, i) => {
    // Half h of 128 values; within it, shift k takes bits 2k of qs[32h + l].
    const h = i >> 7;
    const k = (i & 127) >> 5;
    const l = i & 31;
    const sc = b[o + (i >> 4)];
    const q = (b[o + 16 + 32 * h + l] >> (2 * k)) & 3;
    return f(f(f(hf(b, o + 80) * (sc & 15)) * q) - f(hf(b, o + 82) * (sc >> 4)));
  },
  [GGMLType.Q3_K]: (b, o, i) => {
    const h = i >> 7;
    const k = (i & 127) >> 5;
    const l = i & 31;
    const j = i >> 4;
    const lo = j < 8 ? b[o + 96 + j] & 15 : b[o + 96 + j - 8] >> 4;
    const hi = (b[o + 104 + (j % 4)] >> (2 * Math.floor(j / 4))) & 3;
    const q = ((b[o + 32 + 32 * h + l] >> (2 * k)) & 3) - (bit(b, o + l, 4 * h + k) ? 0 : 4);
    return f(f(hf(b, o + 108) * ((lo | (hi << 4)) - 32)) * q);
  },
  [GGMLType.Q4_K]: (b, o, i) => {
    const s = i >> 5;
    const [sc, m] = k4(b, o + 4, s);
    const byte = b[o + 16 + 32 * (s >> 1) + (i & 31)];
    const q = s & 1 ? byte >> 4 : byte & 15;
    return f(f(f(hf(b, o) * sc) * q) - f(hf(b, o + 2) * m));
  },
  [GGMLType.Q5_K]: (b, o, i) => {
    const s = i >> 5;
    const [sc, m] = k4(b, o + 4, s);
    const byte = b[o + 48 + 32 * (s >> 1) + (i & 31)];
    const q = (s & 1 ? byte >> 4 : byte & 15) + 16 * ((b[o + 16 + (i & 31)] >> s) & 1);
    return f(f(f(hf(b, o) * sc) * q) - f(hf(b, o + 2) * m));
  },
  [GGMLType.Q6_K]: (b, o, i) => {
    const h = i >> 7;
    const k = (i & 127) >> 5;
    const l = i & 31;
    const lowByte = b[o + 64 * h + l + 32 * (k & 1)];
    const low = k >= 2 ? lowByte >> 4 : lowByte & 15;
    const high = (b[o + 128 + 32 * h + l] >> (2 * k)) & 3;
    return f(f(hf(b, o + 208) * i8(b[o + 192 + (i >> 4)])) * ((low | (high << 4)) - 32));
  },
  [GGMLType.IQ4_NL]: (b, o, i) => f(hf(b, o) * IQ4[nib(b, o + 2, i)]),
  [GGMLType.IQ4_XS]: (b, o, i) => {
    const s = i >> 5;
    const lo = (b[o + 4 + (s >> 1)] >> (4 * (s & 1))) & 15;
    const hi = (u16(b, o + 2) >> (2 * s)) & 3;
    return f(f(hf(b, o) * ((lo | (hi << 4)) - 32)) * IQ4[nib(b, o + 8 + 16 * s, i & 31)]);
  },
};

/** Byte offsets of each type's f16 scales, overwritten with finite halves so no block is NaN. */
const HALVES: Partial<Record<GGMLType, number[]>> = {
  [GGMLType.F16]: [0],
  [GGMLType.Q8_0]: [0],
  [GGMLType.Q4_0]: [0],
  [GGMLType.Q4_1]: [0, 2],
  [GGMLType.Q5_0]: [0],
  [GGMLType.Q5_1]: [0, 2],
  [GGMLType.Q2_K]: [80, 82],
  [GGMLType.Q3_K]: [108],
  [GGMLType.Q4_K]: [0, 2],
  [GGMLType.Q5_K]: [0, 2],
  [GGMLType.Q6_K]: [208],
  [GGMLType.IQ4_NL]: [0],
  [GGMLType.IQ4_XS]: [0],
};

function randomBlocks(type: GGMLType, blocks: number, seed: number): Uint8Array {
  const { blockBytes } = GGML_BLOCK[type];
  const b = new Uint8Array(blocks * blockBytes);
  let s = seed;
  for (let i = 0; i < b.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  for (let k = 0; k < blocks; k++) {
    for (const at of HALVES[type] ?? []) b[k * blockBytes + at + 1] &= 0x7b; // exponent < 31
  }
  if (type === GGMLType.F32) {
    const v = new DataView(b.buffer);
    for (let i = 0; i < blocks; i++) v.setFloat32(4 * i, (i % 97) / 7 - 5, true);
  }
  if (type === GGMLType.BF16) for (let i = 0; i < blocks; i++) b[2 * i + 1] &= 0xbf; // finite

  return b;
}

function reference(type: GGMLType, bytes: Uint8Array, count: number): Float32Array {
  const { blockSize, blockBytes } = GGML_BLOCK[type];
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++)
    out[i] = REF[type](bytes, Math.floor(i / blockSize) * blockBytes, i % blockSize);
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof EdgeLMError ? e.code : 'not an EdgeLMError';
  }
  return undefined;
}

describe.each(SUPPORTED_TYPES.map((t) => [typeName(t), t] as const))('%s dequantization', (_name, type) => {
  const { blockSize } = GGML_BLOCK[type];

  it('matches the block-definition reference bit for bit on one block', () => {
    const bytes = randomBlocks(type, 1, 7 + type);
    const got = dequantize(type, bytes, blockSize);
    const want = reference(type, bytes, blockSize);
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
  });

  it('matches it on many blocks read from an odd byte offset', () => {
    const blocks = blockSize === 1 ? 1031 : 37;
    const raw = randomBlocks(type, blocks, 1000 + type);
    const shifted = new Uint8Array(raw.length + 3);
    shifted.set(raw, 3);
    const got = dequantize(type, shifted.subarray(3), blocks * blockSize);
    const want = reference(type, raw, blocks * blockSize);
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
  });

  it.runIf(blockSize > 1)('refuses 255 and 257 values (not whole blocks), and short data', () => {
    const bytes = randomBlocks(type, 512 / blockSize, 3);
    expect(codeOf(() => dequantize(type, bytes, 255))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => dequantize(type, bytes, 257))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => dequantize(type, bytes.subarray(1), 512))).toBe('TRUNCATED');
  });
});
