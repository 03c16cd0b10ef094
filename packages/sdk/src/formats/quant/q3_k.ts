import { f16ToF32, writeHalf } from './f16.js';
import { pack2 } from './q2_k.js';
import { makeQ3Quants, nearestInt } from './scale-search.js';

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

/**
 * llama.cpp's quantize_row_q3_K_ref: each 16 values get a symmetric scale from
 * make_q3_quants, the sixteen scales are stored in 6 bits against the largest, then values are
 * requantized to −4..3 against the stored scales; bit 2 goes to hmask, bits 0–1 to qs.
 */
export function quantizeQ3_K(x: Float32Array): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array((x.length / QK_K) * BLOCK_BYTES);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  for (let b = 0; b < x.length / QK_K; b++) {
    const xb = b * QK_K;
    const o = b * BLOCK_BYTES;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(16, 4, x, xb + 16 * j, L, 16 * j);
      const a = Math.abs(scales[j]);
      if (a > amax) {
        amax = a;
        maxScale = scales[j];
      }
    }
    const sc = o + 96;
    if (maxScale) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        // ggml stores the nearest int in an int8_t before clamping it.
        const l = Math.max(-32, Math.min(31, (nearestInt(f(iscale * scales[j])) << 24) >> 24)) + 32;
        if (j < 8) out[sc + j] = l & 0x0f;
        else out[sc + j - 8] |= (l & 0x0f) << 4;
        out[sc + 8 + (j % 4)] |= (l >> 4) << (2 * (j >> 2));
      }
      writeHalf(out, o + 108, f(1 / iscale));
    }
    const d = f16ToF32(out[o + 108] | (out[o + 109] << 8));
    for (let j = 0; j < 16; j++) {
      const dl = f(d * scale(out, sc, j));
      if (!dl) continue;
      for (let i = 0; i < 16; i++) {
        const l = nearestInt(f(x[xb + 16 * j + i] / dl));
        L[16 * j + i] = (l < -4 ? -4 : l > 3 ? 3 : l) + 4;
      }
    }
    // The high bit of value j goes to bit ⌊j/32⌋ of hmask[j mod 32].
    for (let j = 0; j < QK_K; j++) {
      if (L[j] > 3) {
        out[o + (j & 31)] |= 1 << (j >> 5);
        L[j] -= 4;
      }
    }
    pack2(L, out, o + 32);
  }
  return out;
}
