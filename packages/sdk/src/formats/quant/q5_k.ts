import { f16ToF32 } from './f16.js';
import { scaleMin } from './q4_k.js';

/**
 * block_q5_K: Q4_K (f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles) plus
 * qh[32] after the scales: bit i of qh[l] is the fifth bit of value l + 32i.
 * x = d·sc·q − dmin·m with q in 0..31.
 */
const QK_K = 256;
const BLOCK_BYTES = 176;

export function dequantizeQ5_K(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const dmin = f16ToF32(bytes[o + 2] | (bytes[o + 3] << 8));
    const qh = o + 16;
    let ql = o + 48;
    let y = b * QK_K;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMin(bytes, o + 4, is);
      const [sc2, m2] = scaleMin(bytes, o + 4, is + 1);
      const d1 = Math.fround(d * sc1);
      const min1 = Math.fround(dmin * m1);
      const d2 = Math.fround(d * sc2);
      const min2 = Math.fround(dmin * m2);
      const u1 = 1 << is;
      const u2 = 2 << is;
      for (let l = 0; l < 32; l++) {
        const q = (bytes[ql + l] & 0x0f) + (bytes[qh + l] & u1 ? 16 : 0);
        out[y + l] = Math.fround(Math.fround(d1 * q) - min1);
      }
      for (let l = 0; l < 32; l++) {
        const q = (bytes[ql + l] >> 4) + (bytes[qh + l] & u2 ? 16 : 0);
        out[y + 32 + l] = Math.fround(Math.fround(d2 * q) - min2);
      }
      ql += 32;
      y += 64;
    }
  }
}
