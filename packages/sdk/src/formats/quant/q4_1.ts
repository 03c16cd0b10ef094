import { f16ToF32 } from './f16.js';

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
