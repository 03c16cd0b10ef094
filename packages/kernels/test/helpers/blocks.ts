import { f32ToF16 } from '../../src/quant/f16.js';
import { WEIGHT_TYPES, type WeightType } from '../../src/quant/types.js';
import { toGguf } from './quantize.js';
import { randomF32, rng } from './random.js';

/**
 * Where each quantized type keeps its f16 scale fields, and what to divide the wanted magnitude
 * by so that dequantized values stay O(scale) whatever the random quants and sub-scales are.
 */
const SCALE_FIELDS: Partial<Record<WeightType, [offset: number, divisor: number][]>> = {
  q8_0: [[0, 127]],
  q4_0: [[0, 8]],
  iq4_nl: [[0, 127]],
  q4_1: [
    [0, 8],
    [2, -1],
  ],
  q5_0: [[0, 16]],
  q5_1: [
    [0, 16],
    [2, -1],
  ],
  q2_k: [
    [80, 45],
    [82, 15],
  ],
  q3_k: [[108, 128]],
  q4_k: [
    [0, 63 * 15],
    [2, 63 * 2],
  ],
  q5_k: [
    [0, 63 * 31],
    [2, 63 * 2],
  ],
  q6_k: [[208, 128 * 32]],
  iq4_xs: [[0, 32 * 127]],
};

/**
 * GGUF bytes of `count` values of `type`: float types from random floats; block types as random
 * blocks (every quant, sub-scale and high bit exercised) with their f16 scales set so values
 * are O(scale), with signs varying per block.
 */
export function randomGguf(type: WeightType, count: number, seed: number, scale = 0.5): Uint8Array {
  const info = WEIGHT_TYPES[type];
  if (info.blockElems === 1) return toGguf(type, randomF32(count, seed, scale));
  const nb = count / info.blockElems;
  const out = new Uint8Array(nb * info.blockBytes);
  const r = rng(seed);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    for (const [off, div] of SCALE_FIELDS[type]!) {
      const v = ((0.5 + r()) * scale) / div;
      view.setUint16(b * info.blockBytes + off, f32ToF16(r() < 0.2 ? -v : v), true);
    }
  }
  return out;
}
