import { f16ToF32 } from './f16.js';

/**
 * block_q4_K (llama.cpp ggml-common.h): f16 d, f16 dmin, 12 bytes of packed 6-bit scales and
 * mins for 8 sub-blocks of 32, then 128 bytes of nibbles. Each 64 values share 32 bytes: the
 * low nibbles are sub-block 2i, the high nibbles sub-block 2i+1; x = d·sc·q − dmin·m.
 */
const QK_K = 256;
const BLOCK_BYTES = 144;

/** get_scale_min_k4: sub-blocks 0–3 use the low 6 bits of bytes 0–7; 4–7 borrow the top 2 bits. */
export function scaleMin(scales: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [scales[at + j] & 63, scales[at + j + 4] & 63];
  const sc = (scales[at + j + 4] & 0x0f) | ((scales[at + j - 4] >> 6) << 4);
  const m = (scales[at + j + 4] >> 4) | ((scales[at + j] >> 6) << 4);
  return [sc, m];
}

export function dequantizeQ4_K(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const dmin = f16ToF32(bytes[o + 2] | (bytes[o + 3] << 8));
    const scales = o + 4;
    let q = o + 16;
    let y = b * QK_K;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMin(bytes, scales, is);
      const [sc2, m2] = scaleMin(bytes, scales, is + 1);
      const d1 = Math.fround(d * sc1);
      const min1 = Math.fround(dmin * m1);
      const d2 = Math.fround(d * sc2);
      const min2 = Math.fround(dmin * m2);
      for (let l = 0; l < 32; l++) out[y + l] = Math.fround(Math.fround(d1 * (bytes[q + l] & 0x0f)) - min1);
      for (let l = 0; l < 32; l++)
        out[y + 32 + l] = Math.fround(Math.fround(d2 * (bytes[q + l] >> 4)) - min2);
      q += 32;
      y += 64;
    }
  }
}
