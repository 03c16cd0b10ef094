import { f16ToF32, writeHalf } from './f16.js';

/**
 * block_q5_0 / block_q5_1: Q4_0 / Q4_1 with a fifth bit per quant. After the scale (and, for
 * Q5_1, the minimum) comes qh, a little-endian u32 whose bit j is the high bit of quant j,
 * then Q4's 16 bytes of nibbles (byte j: quant j low, quant j + 16 high).
 * Q5_0: x = (q − 16)·d; Q5_1: x = q·d + m.
 */
const QK = 32;

const u32At = (b: Uint8Array, o: number) =>
  (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

export function dequantizeQ5_0(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * 22;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const qh = u32At(bytes, o + 2);
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 6 + j];
      const lo = (q & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * QK + j] = Math.fround((lo - 16) * d);
      out[b * QK + j + QK / 2] = Math.fround((hi - 16) * d);
    }
  }
}

export function dequantizeQ5_1(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * 24;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    const m = f16ToF32(bytes[o + 2] | (bytes[o + 3] << 8));
    const qh = u32At(bytes, o + 4);
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 8 + j];
      const lo = (q & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * QK + j] = Math.fround(Math.fround(lo * d) + m);
      out[b * QK + j + QK / 2] = Math.fround(Math.fround(hi * d) + m);
    }
  }
}

/** Packs 32 five-bit quants: low nibbles as Q4's, fifth bits into the u32 qh at byte `qhAt`. */
function pack5(out: Uint8Array, qhAt: number, qsAt: number, q: (j: number) => number): void {
  let qh = 0;
  for (let j = 0; j < QK / 2; j++) {
    const lo = q(j);
    const hi = q(j + QK / 2);
    out[qsAt + j] = (lo & 0x0f) | ((hi & 0x0f) << 4);
    qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + QK / 2));
  }
  for (let k = 0; k < 4; k++) out[qhAt + k] = (qh >>> (8 * k)) & 0xff;
}

/**
 * llama.cpp's quantize_row_q5_0_ref in float32: d = max/−16 where max is the value of largest
 * magnitude, q = min(31, trunc(x/d + 16.5)).
 */
export function quantizeQ5_0(x: Float32Array): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array((x.length / QK) * 22);
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -16);
    const id = d ? f(1 / d) : 0;
    writeHalf(out, b * 22, d);
    pack5(out, b * 22 + 2, b * 22 + 6, (j) => Math.min(31, Math.trunc(f(f(x[b * QK + j] * id) + 16.5))));
  }
  return out;
}

/**
 * llama.cpp's quantize_row_q5_1_ref in float32: d = (max − min)/31, m = min,
 * q = trunc((x − min)/d + 0.5).
 */
export function quantizeQ5_1(x: Float32Array): Uint8Array {
  const f = Math.fround;
  const out = new Uint8Array((x.length / QK) * 24);
  for (let b = 0; b < x.length / QK; b++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = f(f(max - min) / 31);
    const id = d ? f(1 / d) : 0;
    writeHalf(out, b * 24, d);
    writeHalf(out, b * 24 + 2, min);
    pack5(out, b * 24 + 4, b * 24 + 8, (j) => Math.trunc(f(f(f(x[b * QK + j] - min) * id) + 0.5)) & 31);
  }
  return out;
}
