import { f16ToF32, writeHalf } from './f16.js';
import { makeQkx2Quants, nearestInt } from './scale-search.js';

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

/** Packs 256 two-bit quants: byte 32h + l holds values 128h + l + 32k at bits 2k. */
export function pack2(L: ArrayLike<number>, out: Uint8Array, at: number): void {
  for (let h = 0; h < 2; h++) {
    for (let l = 0; l < 32; l++) {
      const j = 128 * h + l;
      out[at + 32 * h + l] = L[j] | (L[j + 32] << 2) | (L[j + 64] << 4) | (L[j + 96] << 6);
    }
  }
}

/**
 * llama.cpp's quantize_row_q2_K_ref: each 16 values get a scale and min from make_qkx2_quants
 * (weights |x|, absolute error), both quantized to 4 bits against the block's largest, then
 * the values are requantized against the stored scales.
 */
export function quantizeQ2_K(x: Float32Array): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array((x.length / QK_K) * BLOCK_BYTES);
  const L = new Uint8Array(QK_K);
  const laux = new Uint8Array(16);
  const weights = new Float32Array(16);
  const scales = new Float32Array(16);
  const mins = new Float32Array(16);
  for (let b = 0; b < x.length / QK_K; b++) {
    const xb = b * QK_K;
    const o = b * BLOCK_BYTES;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xb + 16 * j + l]);
      [scales[j], mins[j]] = makeQkx2Quants(
        16,
        3,
        x,
        xb + 16 * j,
        weights,
        L,
        16 * j,
        laux,
        -0.5,
        f(0.1),
        15,
        true,
      );
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    if (maxScale > 0) {
      const iscale = f(15 / maxScale);
      for (let j = 0; j < 16; j++) out[o + j] = nearestInt(f(iscale * scales[j])) & 0xff;
      writeHalf(out, o + 80, f(maxScale / 15));
    }
    if (maxMin > 0) {
      const iscale = f(15 / maxMin);
      for (let j = 0; j < 16; j++) out[o + j] |= (nearestInt(f(iscale * mins[j])) << 4) & 0xff;
      writeHalf(out, o + 82, f(maxMin / 15));
    }
    const d = f16ToF32(out[o + 80] | (out[o + 81] << 8));
    const dmin = f16ToF32(out[o + 82] | (out[o + 83] << 8));
    for (let j = 0; j < 16; j++) {
      const dl = f(d * (out[o + j] & 0x0f));
      if (!dl) continue;
      const ml = f(dmin * (out[o + j] >> 4));
      for (let i = 0; i < 16; i++) {
        const l = nearestInt(f(f(x[xb + 16 * j + i] + ml) / dl));
        L[16 * j + i] = l < 0 ? 0 : l > 3 ? 3 : l;
      }
    }
    pack2(L, out, o + 16);
  }
  return out;
}
