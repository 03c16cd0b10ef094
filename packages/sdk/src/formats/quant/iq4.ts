import { f16ToF32, writeHalf } from './f16.js';
import { GROUP_MAX_EPS, nearestInt, signedAbsMax } from './scale-search.js';

/**
 * The non-linear 4-bit grid of IQ4_NL and IQ4_XS (ggml-common.h kvalues_iq4nl): denser near
 * zero, where trained weights cluster.
 */
export const KVALUES_IQ4NL: readonly number[] = [
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/** block_iq4_nl: f16 d, 16 bytes of nibbles laid out as Q4_0's; x = d·kvalues[q]. */
export function dequantizeIQ4_NL(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / 32; b++) {
    const o = b * 18;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    for (let j = 0; j < 16; j++) {
      const q = bytes[o + 2 + j];
      out[b * 32 + j] = Math.fround(d * KVALUES_IQ4NL[q & 0x0f]);
      out[b * 32 + j + 16] = Math.fround(d * KVALUES_IQ4NL[q >> 4]);
    }
  }
}

/**
 * block_iq4_xs: f16 d, u16 scales_h, scales_l[4], then eight IQ4_NL-style sub-blocks of 32
 * (16 bytes each). Sub-block i's 6-bit scale is nibble i&1 of scales_l[i/2] with bits 2i..2i+1
 * of scales_h on top; x = d·(ls − 32)·kvalues[q].
 */
export function dequantizeIQ4_XS(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / 256; b++) {
    const o = b * 136;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const scalesH = bytes[o + 2] | (bytes[o + 3] << 8);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((bytes[o + 4 + (ib >> 1)] >> (4 * (ib & 1))) & 0x0f) | (((scalesH >> (2 * ib)) & 3) << 4);
      const dl = Math.fround(d * (ls - 32));
      const qs = o + 8 + ib * 16;
      const y = b * 256 + ib * 32;
      for (let j = 0; j < 16; j++) {
        out[y + j] = Math.fround(dl * KVALUES_IQ4NL[bytes[qs + j] & 0x0f]);
        out[y + j + 16] = Math.fround(dl * KVALUES_IQ4NL[bytes[qs + j] >> 4]);
      }
    }
  }
}

const f = Math.fround;

/** Index of the grid value nearest x (ggml's best_index_int8; ties go to the upper value). */
function bestIndex(x: number): number {
  const v = KVALUES_IQ4NL;
  if (x <= v[0]) return 0;
  if (x >= v[15]) return 15;
  let lo = 0;
  let hi = 15;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x < v[mid]) hi = mid;
    else lo = mid;
  }
  return x - v[hi - 1] < v[hi] - x ? hi - 1 : hi;
}

/**
 * The x²-weighted best scale of one group of 32 into the grid, trying 15 scales around
 * max/kvalues[0] (quantize_row_iq4_nl_impl with ntry 7, as llama-quantize runs it without an
 * importance matrix). Returns 0 for an all-zero group.
 */
function groupScale(x: Float32Array, at: number, L: Uint8Array, lAt: number): number {
  const max = signedAbsMax(x, at, 32);
  if (Math.abs(max) < GROUP_MAX_EPS) return 0;
  const v0 = KVALUES_IQ4NL[0];
  let id = f(1 / f(-max / v0));
  let sumqx = 0;
  let sumq2 = 0;
  for (let j = 0; j < 32; j++) {
    const xj = x[at + j];
    const l = bestIndex(f(id * xj));
    L[lAt + j] = l;
    const q = KVALUES_IQ4NL[l];
    const w = f(xj * xj);
    sumqx = f(sumqx + f(f(w * q) * xj));
    sumq2 = f(sumq2 + f(f(w * q) * q));
  }
  let d = sumq2 > 0 ? f(sumqx / sumq2) : 0;
  let best = f(d * sumqx);
  for (let itry = -7; itry <= 7; itry++) {
    id = f((itry + v0) / max);
    sumqx = 0;
    sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const xj = x[at + j];
      const q = KVALUES_IQ4NL[bestIndex(f(id * xj))];
      const w = f(xj * xj);
      sumqx = f(sumqx + f(f(w * q) * xj));
      sumq2 = f(sumq2 + f(f(w * q) * q));
    }
    if (sumq2 > 0 && f(sumqx * sumqx) > f(best * sumq2)) {
      d = f(sumqx / sumq2);
      best = f(d * sumqx);
    }
  }
  return d;
}

/** Packs 32 grid indices as Q4_0 packs nibbles: byte j holds value j low, j + 16 high. */
function packNibbles(L: Uint8Array, lAt: number, out: Uint8Array, at: number): void {
  for (let j = 0; j < 16; j++) out[at + j] = L[lAt + j] | (L[lAt + j + 16] << 4);
}

/** llama.cpp's IQ4_NL quantizer without an importance matrix (quantize_iq4_nl). */
export function quantizeIQ4_NL(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 18);
  const L = new Uint8Array(32);
  for (let b = 0; b < x.length / 32; b++) {
    const d = groupScale(x, b * 32, L, 0);
    writeHalf(out, b * 18, d);
    const id = d ? f(1 / d) : 0;
    for (let j = 0; j < 32; j++) L[j] = bestIndex(f(id * x[b * 32 + j]));
    packNibbles(L, 0, out, b * 18 + 2);
  }
  return out;
}

/**
 * llama.cpp's IQ4_XS quantizer without an importance matrix (quantize_iq4_xs): each group of
 * 32 gets IQ4_NL's scale, stored in 6 bits against the block's largest (d = max/−32), and its
 * values are requantized against the stored scale.
 */
export function quantizeIQ4_XS(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 256) * 136);
  const L = new Uint8Array(256);
  const scales = new Float32Array(8);
  for (let b = 0; b < x.length / 256; b++) {
    const xb = b * 256;
    const o = b * 136;
    let maxScale = 0;
    let amaxScale = 0;
    for (let ib = 0; ib < 8; ib++) {
      scales[ib] = groupScale(x, xb + 32 * ib, L, 32 * ib);
      if (Math.abs(scales[ib]) > amaxScale) {
        amaxScale = Math.abs(scales[ib]);
        maxScale = scales[ib];
      }
    }
    const d = f(-maxScale / 32);
    writeHalf(out, o, d);
    const id = d ? f(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < 8; ib++) {
      const l = Math.max(-32, Math.min(31, nearestInt(f(id * scales[ib]))));
      const dl = f(d * l);
      const idl = dl ? f(1 / dl) : 0;
      for (let j = 0; j < 32; j++) L[32 * ib + j] = bestIndex(f(idl * x[xb + 32 * ib + j]));
      const ls = l + 32;
      out[o + 4 + (ib >> 1)] |= (ls & 0x0f) << (4 * (ib & 1));
      scalesH |= (ls >> 4) << (2 * ib);
      packNibbles(L, 32 * ib, out, o + 8 + 16 * ib);
    }
    out[o + 2] = scalesH & 0xff;
    out[o + 3] = scalesH >> 8;
  }
  return out;
}
