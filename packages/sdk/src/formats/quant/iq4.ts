import { f16ToF32 } from './f16.js';

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
