import { f16ToF32 } from './f16.js';

/**
 * block_q3_K: 32 bytes hmask (bit k of byte l: high bit of value l + 32k), 64 bytes of 2-bit
 * quants (laid out as Q2_K's), 12 bytes holding sixteen 6-bit scales, f16 d; x = d·(s − 32)·q
 * with q = low2 − (high bit clear ? 4 : 0).
 */
const QK_K = 256;
const BLOCK_BYTES = 110;

/**
 * Scale j's low 4 bits are nibble (j ≥ 8) of byte j mod 8; its top 2 bits are bits
 * 2⌊j/4⌋.. of byte 8 + j mod 4.
 */
function scale(bytes: Uint8Array, at: number, j: number): number {
  const lo = j < 8 ? bytes[at + j] & 0x0f : bytes[at + j - 8] >> 4;
  const hi = (bytes[at + 8 + (j & 3)] >> (2 * (j >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

export function dequantizeQ3_K(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    const hm = o;
    const d = f16ToF32(bytes[o + 108] | (bytes[o + 109] << 8));
    let y = b * QK_K;
    let is = 0;
    let bit = 1;
    for (let half = 0; half < 2; half++) {
      const q = o + 32 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const dl = Math.fround(d * scale(bytes, o + 96, is++));
          const at = part * 16;
          for (let l = 0; l < 16; l++) {
            const v = ((bytes[q + at + l] >> shift) & 3) - (bytes[hm + at + l] & bit ? 0 : 4);
            out[y + l] = Math.fround(dl * v);
          }
          y += 16;
        }
        bit <<= 1;
      }
    }
  }
}
