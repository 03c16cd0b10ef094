import { f16ToF32, f32ToF16 } from './f16.js';

/** block_q8_0: f16 scale d, then 32 int8 quants; x = q × d. */
const QK = 32;
const BLOCK_BYTES = 34;

/** C's roundf: halves go away from zero (Math.round sends −2.5 to −2). */
export function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function dequantizeQ8_0(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    for (let j = 0; j < QK; j++) out[b * QK + j] = Math.fround(((bytes[o + 2 + j] << 24) >> 24) * d);
  }
}

/** llama.cpp's quantize_row_q8_0_ref, in float32 arithmetic: d = amax/127, q = roundf(x/d). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / QK) * BLOCK_BYTES);
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[b * QK + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const o = b * BLOCK_BYTES;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >> 8;
    for (let j = 0; j < QK; j++) out[o + 2 + j] = roundAway(Math.fround(x[b * QK + j] * id)) & 0xff;
  }
  return out;
}
