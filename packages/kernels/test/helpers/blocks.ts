import { randomBlocks } from '../../src/quant/random.js';
import { WEIGHT_TYPES, type WeightType } from '../../src/quant/types.js';
import { toGguf } from './quantize.js';
import { randomF32, rng } from './random.js';

/** GGUF bytes of `count` values of `type`: float types from random floats, block types as random blocks. */
export function randomGguf(type: WeightType, count: number, seed: number, scale = 0.5): Uint8Array {
  if (WEIGHT_TYPES[type].blockElems === 1) return toGguf(type, randomF32(count, seed, scale));
  return randomBlocks(type, count, rng(seed), scale);
}
