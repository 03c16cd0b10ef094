import { f16ToF32, writeHalf } from './f16.js';
import { makeQkx2Quants, nearestInt } from './scale-search.js';

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

/** Per-block scratch of {@link quantizeKBlock}, allocated once: it runs for every 256 values. */
const scratch = {
  weights: new Float32Array(32),
  laux: new Uint8Array(32),
  scales: new Float32Array(8),
  mins: new Float32Array(8),
};

/**
 * The part Q4_K and Q5_K share (quantize_row_q4_K_ref / q5_K_ref): per 32 values, a scale and
 * min from make_qkx2_quants weighted by rms + |x|; the eight pairs stored in 6 bits against
 * the block's largest (scales at byte o + 4, d and dmin at o, o + 2); then every value
 * requantized to 0..nmax against the stored scales, into L.
 */
export function quantizeKBlock(
  x: Float32Array,
  xb: number,
  out: Uint8Array,
  o: number,
  nmax: number,
  rmin: number,
  nstep: number,
  L: Uint8Array,
): void {
  const f = Math.fround;
  const { weights, laux, scales, mins } = scratch;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[xb + 32 * j + l] * x[xb + 32 * j + l]));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[xb + 32 * j + l]));
    [scales[j], mins[j]] = makeQkx2Quants(
      32,
      nmax,
      x,
      xb + 32 * j,
      weights,
      L,
      32 * j,
      laux,
      rmin,
      f(0.1),
      nstep,
      false,
    );
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const s = o + 4;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
    if (j < 4) {
      out[s + j] = ls;
      out[s + j + 4] = lm;
    } else {
      out[s + j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
      out[s + j - 4] |= (ls >> 4) << 6;
      out[s + j] |= (lm >> 4) << 6;
    }
  }
  writeHalf(out, o, f(maxScale / 63));
  writeHalf(out, o + 2, f(maxMin / 63));
  const d = f16ToF32(out[o] | (out[o + 1] << 8));
  const dmin = f16ToF32(out[o + 2] | (out[o + 3] << 8));
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMin(out, s, j);
    const dl = f(d * sc);
    if (!dl) continue;
    const dm = f(dmin * m);
    for (let i = 0; i < 32; i++) {
      const l = nearestInt(f(f(x[xb + 32 * j + i] + dm) / dl));
      L[32 * j + i] = l < 0 ? 0 : l > nmax ? nmax : l;
    }
  }
}

/** llama.cpp's quantize_row_q4_K_ref (no importance matrix). */
export function quantizeQ4_K(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / QK_K) * BLOCK_BYTES);
  const L = new Uint8Array(QK_K);
  for (let b = 0; b < x.length / QK_K; b++) {
    const o = b * BLOCK_BYTES;
    quantizeKBlock(x, b * QK_K, out, o, 15, -1, 20, L);
    for (let j = 0; j < 4; j++) {
      for (let l = 0; l < 32; l++) out[o + 16 + 32 * j + l] = L[64 * j + l] | (L[64 * j + l + 32] << 4);
    }
  }
  return out;
}
