import { f16ToF32, writeHalf } from './f16.js';

/**
 * block_q4_1: f16 scale d, f16 minimum m, then 16 bytes of nibbles laid out as Q4_0's
 * (byte j: quant j low, quant j + 16 high); x = q·d + m with q in 0..15.
 */
const QK = 32;
const BLOCK_BYTES = 20;

export function dequantizeQ4_1(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const m = f16ToF32(bytes[o + 2] | (bytes[o + 3] << 8));
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 4 + j];
      out[b * QK + j] = Math.fround(Math.fround((q & 0x0f) * d) + m);
      out[b * QK + j + QK / 2] = Math.fround(Math.fround((q >> 4) * d) + m);
    }
  }
}

/**
 * llama.cpp's quantize_row_q4_1_ref in float32: d = (max − min)/15, m = min,
 * q = min(15, trunc((x − min)/d + 0.5)).
 */
export function quantizeQ4_1(x: Float32Array): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array((x.length / QK) * BLOCK_BYTES);
  for (let b = 0; b < x.length / QK; b++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = f(f(max - min) / 15);
    const id = d ? f(1 / d) : 0;
    const o = b * BLOCK_BYTES;
    writeHalf(out, o, d);
    writeHalf(out, o + 2, min);
    const quant = (v: number) => Math.min(15, Math.trunc(f(f(f(v - min) * id) + 0.5)));
    for (let j = 0; j < QK / 2; j++)
      out[o + 4 + j] = quant(x[b * QK + j]) | (quant(x[b * QK + j + QK / 2]) << 4);
  }
  return out;
}
