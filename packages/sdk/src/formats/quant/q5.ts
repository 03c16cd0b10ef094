import { f16ToF32 } from './f16.js';

/**
 * block_q5_0 / block_q5_1: Q4_0 / Q4_1 with a fifth bit per quant. After the scale (and, for
 * Q5_1, the minimum) comes qh, a little-endian u32 whose bit j is the high bit of quant j,
 * then Q4's 16 bytes of nibbles (byte j: quant j low, quant j + 16 high).
 * Q5_0: x = (q − 16)·d; Q5_1: x = q·d + m.
 */
const QK = 32;

const u32At = (b: Uint8Array, o: number) =>
  (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

export function dequantizeQ5_0(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * 22;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const qh = u32At(bytes, o + 2);
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 6 + j];
      const lo = (q & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * QK + j] = Math.fround((lo - 16) * d);
      out[b * QK + j + QK / 2] = Math.fround((hi - 16) * d);
    }
  }
}

export function dequantizeQ5_1(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * 24;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const m = f16ToF32(bytes[o + 2] | (bytes[o + 3] << 8));
    const qh = u32At(bytes, o + 4);
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 8 + j];
      const lo = (q & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * QK + j] = Math.fround(Math.fround(lo * d) + m);
      out[b * QK + j + QK / 2] = Math.fround(Math.fround(hi * d) + m);
    }
  }
}
