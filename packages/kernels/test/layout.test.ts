import { describe, expect, it } from 'vitest';
import {
  ggufRowBytes,
  packWeights,
  repackRows,
  stackSegments,
  unpackRows,
  weightLayout,
} from '../src/quant/layout.js';
import { WEIGHT_TYPES, type WeightType } from '../src/quant/types.js';
import { randomGguf } from './helpers/blocks.js';

const TYPES = Object.keys(WEIGHT_TYPES) as WeightType[];

describe('GPU weight layouts', () => {
  it.each(TYPES)('%s: same size as the GGUF bytes, and repacking round-trips bit for bit', (type) => {
    const be = WEIGHT_TYPES[type].blockElems;
    // An odd number of blocks per row and of rows: the d halves of a row end mid-word.
    const cols = be === 1 ? 7 : 3 * be;
    const rows = 5;
    const gguf = randomGguf(type, rows * cols, 7);
    expect(gguf.byteLength).toBe(rows * ggufRowBytes(type, cols));
    const lay = weightLayout(type, rows, cols);
    const words = packWeights(type, rows, cols, gguf);
    // Padding only: float rows to whole vec4s, block rows' d halves to whole words (≤ 2 bytes a row).
    const slack = be === 1 ? rows * 8 : rows * 2;
    expect(lay.words * 4).toBeGreaterThanOrEqual(gguf.byteLength);
    expect(lay.words * 4 - gguf.byteLength).toBeLessThanOrEqual(slack);
    expect(unpackRows(lay, words, 0, rows)).toEqual(gguf);
    // Rows written on their own land where the whole image has them.
    const part = repackRows(type, cols, gguf.subarray(2 * ggufRowBytes(type, cols)));
    expect(part.data).toEqual(words.subarray(2 * lay.rowWords, lay.scaleBase));
    if (part.scales) expect(part.scales).toEqual(words.subarray(lay.scaleBase + 2 * lay.scaleRowWords));
  });

  it('refuses rows that are not whole blocks, naming the type', () => {
    expect(() => weightLayout('q4_k', 1, 255)).toThrow(/Q4_K rows must be whole blocks of 256/);
    expect(() => weightLayout('q4_k', 1, 257)).toThrow(/Q4_K/);
    expect(() => weightLayout('q5_0', 1, 48)).toThrow(/Q5_0 rows must be whole blocks of 32/);
  });

  it('stacks q|k|v into runs of one type', () => {
    expect(stackSegments(['q4_k', 'q4_k', 'q6_k'], [256, 128, 128])).toEqual([
      { type: 'q4_k', rowStart: 0, rows: 384, tensors: [0, 1] },
      { type: 'q6_k', rowStart: 384, rows: 128, tensors: [2] },
    ]);
    expect(stackSegments(['q8_0', 'q8_0', 'q8_0'], [64, 32, 32])).toHaveLength(1);
  });
});
