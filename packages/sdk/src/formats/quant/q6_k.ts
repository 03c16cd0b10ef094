import { f16ToF32, writeHalf } from './f16.js';
import { GROUP_MAX_EPS, makeQxQuants, nearestInt } from './scale-search.js';

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

/**
 * llama.cpp's quantize_row_q6_K_ref: each 16 values get a scale from make_qx_quants (x²
 * weighted), the sixteen scales are stored as int8 against the largest (d = max/−128), then
 * values are requantized to −32..31 against the stored scales.
 */
export function quantizeQ6_K(x: Float32Array): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array((x.length / QK_K) * BLOCK_BYTES);
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  for (let b = 0; b < x.length / QK_K; b++) {
    const xb = b * QK_K;
    const o = b * BLOCK_BYTES;
    let maxScale = 0;
    let maxAbs = 0;
    for (let ib = 0; ib < 16; ib++) {
      scales[ib] = makeQxQuants(16, 32, x, xb + 16 * ib, L, 16 * ib);
      const a = Math.abs(scales[ib]);
      if (a > maxAbs) {
        maxAbs = a;
        maxScale = scales[ib];
      }
    }
    if (maxAbs < GROUP_MAX_EPS) continue; // an all-zero block (d = 0)
    const iscale = f(-128 / maxScale);
    writeHalf(out, o + 208, f(1 / iscale));
    for (let ib = 0; ib < 16; ib++)
      out[o + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    const d = f16ToF32(out[o + 208] | (out[o + 209] << 8));
    for (let j = 0; j < 16; j++) {
      const dl = f(d * int8(out[o + 192 + j]));
      if (!dl) continue;
      for (let i = 0; i < 16; i++) {
        const l = nearestInt(f(x[xb + 16 * j + i] / dl));
        L[16 * j + i] = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const j = 128 * h + l;
        out[o + 64 * h + l] = (L[j] & 0x0f) | ((L[j + 64] & 0x0f) << 4);
        out[o + 64 * h + l + 32] = (L[j + 32] & 0x0f) | ((L[j + 96] & 0x0f) << 4);
        out[o + 128 + 32 * h + l] =
          (L[j] >> 4) | ((L[j + 32] >> 4) << 2) | ((L[j + 64] >> 4) << 4) | ((L[j + 96] >> 4) << 6);
      }
    }
  }
  return out;
}
