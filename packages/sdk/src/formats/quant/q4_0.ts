import { f16ToF32, f32ToF16 } from './f16.js';

/**
 * block_q4_0: f16 scale d, then 16 bytes; byte j holds quant j in its low nibble and quant
 * j + 16 in its high nibble; x = (q − 8) × d.
 */
const QK = 32;
const BLOCK_BYTES = 18;

export function dequantizeQ4_0(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let b = 0; b < count / QK; b++) {
    const o = b * BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 2 + j];
      out[b * QK + j] = Math.fround(((q & 0x0f) - 8) * d);
      out[b * QK + j + QK / 2] = Math.fround(((q >> 4) - 8) * d);
    }
  }
}

/**
 * llama.cpp's quantize_row_q4_0_ref in float32 arithmetic: d = max / −8 where max is the value
 * of largest magnitude (sign kept), q = min(15, trunc(x/d + 8.5)).
 */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / QK) * BLOCK_BYTES);
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
    const d = Math.fround(max / -8);
    const id = d ? Math.fround(1 / d) : 0;
    const o = b * BLOCK_BYTES;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >> 8;
    const quant = (v: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(v * id) + 8.5))) & 0x0f;
    for (let j = 0; j < QK / 2; j++) {
      out[o + 2 + j] = quant(x[b * QK + j]) | (quant(x[b * QK + j + QK / 2]) << 4);
    }
  }
  return out;
}
