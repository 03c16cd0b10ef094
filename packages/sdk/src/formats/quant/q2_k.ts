import { f16ToF32 } from './f16.js';

/**
 * block_q2_K: 16 bytes of scales (low nibble: scale, high nibble: min, one pair per 16 values),
 * 64 bytes of 2-bit quants, f16 d, f16 dmin; x = d·sc·q − dmin·m. Each half of the block (128
 * values) reads 32 bytes of qs four times, taking bits 2k..2k+1 for values 32k..32k+31.
 */
const QK_K = 256;
const BLOCK_BYTES = 84;

export function dequantizeQ2_K(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o + 80] | (bytes[o + 81] << 8));
    const dmin = f16ToF32(bytes[o + 82] | (bytes[o + 83] << 8));
    let y = b * QK_K;
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + 16 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = bytes[o + is++];
          const dl = Math.fround(d * (sc & 0x0f));
          const ml = Math.fround(dmin * (sc >> 4));
          const at = q + part * 16;
          for (let l = 0; l < 16; l++)
            out[y + l] = Math.fround(Math.fround(dl * ((bytes[at + l] >> shift) & 3)) - ml);
          y += 16;
        }
      }
    }
  }
}
