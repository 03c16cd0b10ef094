import { f16ToF32 } from './f16.js';

/**
 * block_q6_K (llama.cpp ggml-common.h): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits),
 * 16 int8 scales (one per 16 values), f16 d; x = d · scale · (q − 32). Each half of the block
 * (128 values) uses 64 bytes of ql, 32 of qh and 8 scales; value l + 32k of a half takes its low
 * bits from ql[l + 32(k & 1)] (low nibble for k < 2, high otherwise) and bits 2k..2k+1 of qh[l].
 */
const QK_K = 256;
const BLOCK_BYTES = 210;

const int8 = (byte: number) => (byte << 24) >> 24;

export function dequantizeQ6_K(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o + 208] | (bytes[o + 209] << 8));
    for (let half = 0; half < 2; half++) {
      const ql = o + half * 64;
      const qh = o + 128 + half * 32;
      const sc = o + 192 + half * 8;
      const y = b * QK_K + half * 128;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l];
        const q1 = ((bytes[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        out[y + l] = Math.fround(Math.fround(d * int8(bytes[sc + is])) * q1);
        out[y + l + 32] = Math.fround(Math.fround(d * int8(bytes[sc + is + 2])) * q2);
        out[y + l + 64] = Math.fround(Math.fround(d * int8(bytes[sc + is + 4])) * q3);
        out[y + l + 96] = Math.fround(Math.fround(d * int8(bytes[sc + is + 6])) * q4);
      }
    }
  }
}
