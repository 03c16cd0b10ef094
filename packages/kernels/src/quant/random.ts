import { f32ToF16 } from './f16.js';
import { WEIGHT_TYPES, type WeightType } from './types.js';

/**
 * Where each block type keeps its f16 scale fields, and what to divide the wanted magnitude by
 * so that dequantized values stay O(scale) whatever the quants and sub-scales are (a negative
 * divisor: a min, stored negated as ggml's `m` of Q4_1/Q5_1 is).
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
 * `count` values of a block type as random GGUF blocks (every quant, sub-scale and high bit
 * exercised) whose f16 scales keep values O(scale): test and benchmark material for shapes no
 * trained file is at hand for. `rand()` returns uniform [0, 1).
 */
export function randomBlocks(type: WeightType, count: number, rand: () => number, scale: number): Uint8Array {
  const info = WEIGHT_TYPES[type];
  const fields = SCALE_FIELDS[type];
  if (!fields) throw new TypeError(`${info.name} is not a block type`);
  const nb = count / info.blockElems;
  const out = new Uint8Array(nb * info.blockBytes);
  const words = new Uint32Array(out.buffer, 0, out.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (rand() * 4294967296) >>> 0;
  for (let i = words.length * 4; i < out.length; i++) out[i] = (rand() * 256) | 0;
  for (let b = 0; b < nb; b++) {
    for (const [off, div] of fields) {
      const v = ((0.5 + rand()) * scale) / div;
      const h = f32ToF16(rand() < 0.2 ? -v : v);
      out[b * info.blockBytes + off] = h & 0xff;
      out[b * info.blockBytes + off + 1] = h >> 8;
    }
  }
  return out;
}
