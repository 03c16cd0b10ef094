import { f16ToF32 } from './f16.js';
import { quantizeKBlock, scaleMin } from './q4_k.js';

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

/** llama.cpp's quantize_row_q5_K_ref (no importance matrix): Q4_K's search with 5-bit quants. */
export function quantizeQ5_K(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / QK_K) * BLOCK_BYTES);
  const L = new Uint8Array(QK_K);
  for (let b = 0; b < x.length / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    quantizeKBlock(x, b * QK_K, out, o, 31, -0.5, 15, L);
    for (let j = 0; j < 4; j++) {
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * j + l];
        const l2 = L[64 * j + l + 32];
        out[o + 48 + 32 * j + l] = (l1 & 0x0f) | ((l2 & 0x0f) << 4);
        out[o + 16 + l] |= ((l1 >> 4) << (2 * j)) | ((l2 >> 4) << (2 * j + 1));
      }
    }
  }
  return out;
}
