import { f32ToF16 } from '../../src/quant/f16.js';
import type { WeightType } from '../../src/quant/layout.js';

/** GGUF bytes of row-major values in `type`, quantized the way llama.cpp's reference quantizers do. */
export function toGguf(type: WeightType, values: Float32Array): Uint8Array {
  if (type === 'f32') return new Uint8Array(values.slice().buffer);
  if (type === 'bf16') {
    // Round to nearest even on the top 16 bits, as ggml's fp32_to_bf16 does (no NaNs here).
    const u = new Uint32Array(values.slice().buffer);
    const h = new Uint16Array(values.length);
    for (let i = 0; i < u.length; i++) h[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
    return new Uint8Array(h.buffer);
  }
  if (type !== 'q8_0' && type !== 'q4_0' && type !== 'f16') {
    throw new TypeError(`toGguf quantizes F32/F16/BF16/Q8_0/Q4_0 only, not ${type} (see randomGguf)`);
  }
  if (type === 'f16') {
    const h = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) h[i] = f32ToF16(values[i]!);
    return new Uint8Array(h.buffer);
  }
  const blocks = values.length / 32;
  const bb = type === 'q8_0' ? 34 : 18;
  const out = new Uint8Array(blocks * bb);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * 32, b * 32 + 32);
    const o = b * bb;
    if (type === 'q8_0') {
      let amax = 0;
      for (const v of x) amax = Math.max(amax, Math.abs(v));
      const d = amax / 127;
      const id = d ? 1 / d : 0;
      view.setUint16(o, f32ToF16(d), true);
      for (let i = 0; i < 32; i++) view.setInt8(o + 2 + i, Math.round(x[i]! * id));
    } else {
      let amax = 0;
      let max = 0;
      for (const v of x) {
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          max = v;
        }
      }
      const d = max / -8;
      const id = d ? 1 / d : 0;
      view.setUint16(o, f32ToF16(d), true);
      for (let j = 0; j < 16; j++) {
        const lo = Math.min(15, Math.trunc(x[j]! * id + 8.5));
        const hi = Math.min(15, Math.trunc(x[j + 16]! * id + 8.5));
        out[o + 2 + j] = lo | (hi << 4);
      }
    }
  }
  return out;
}
