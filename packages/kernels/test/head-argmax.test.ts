import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import { argmaxRef } from '../src/ops/argmax.js';
import {
  argmaxMergeProgram,
  argmaxMergeUniforms,
  headArgmaxProgram,
  headArgmaxUniforms,
} from '../src/ops/head-argmax.js';
import { linearRef } from '../src/ops/linear.js';
import { dequantQ8Row, quantizeActRef } from '../src/ops/quantize-act.js';
import { rmsnormRef } from '../src/ops/rmsnorm.js';
import { dequantMatrix, packWeights, type WeightType, weightLayout } from '../src/quant/layout.js';
import { q8Block } from '../src/quant/types.js';
import { randomGguf } from './helpers/blocks.js';
import { emptyBuffer, readF32, readU32, run, testGpu, upload } from './helpers/gpu.js';
import { toGguf } from './helpers/quantize.js';
import { maxAbsDiff, randomF32 } from './helpers/random.js';

// Logits: f32 vs f64 accumulation over ≤ 288 products of O(0.3) terms: 1e-4. The token id must
// be exactly the reference's argmax of the GPU's own logits (ties to the lowest index).
const TOL = 1e-4;
const EPS = 1e-5;

const cases: {
  name: string;
  type: WeightType;
  vocab: number;
  dim: number;
  rowsPerWg: number;
  rpt?: number;
}[] = [
  {
    name: 'f32 vocab 7, one workgroup (final), 8 rows per invocation',
    type: 'f32',
    vocab: 7,
    dim: 64,
    rowsPerWg: 4096,
    rpt: 8,
  },
  {
    name: 'f32 vocab 3001 over 3 workgroups, 8 rows per invocation',
    type: 'f32',
    vocab: 3001,
    dim: 288,
    rowsPerWg: 1024,
    rpt: 8,
  },
  {
    name: 'q8_0 vocab 4097 over 5 workgroups, 3 rows per invocation',
    type: 'q8_0',
    vocab: 4097,
    dim: 64,
    rowsPerWg: 1000,
    rpt: 3,
  },
  {
    name: 'q4_0 vocab 1000, dim 288, 63-row tiles, 4 rows per invocation',
    type: 'q4_0',
    vocab: 1000,
    dim: 288,
    rowsPerWg: 63,
    rpt: 4,
  },
  { name: 'f16 vocab 65, ties broken low', type: 'f16', vocab: 65, dim: 32, rowsPerWg: 16, rpt: 6 },
  {
    name: 'q6_k (a tied llama.cpp table) vocab 513 over 3 workgroups',
    type: 'q6_k',
    vocab: 513,
    dim: 256,
    rowsPerWg: 200,
    rpt: 4,
  },
  {
    name: 'q4_k vocab 100, dim 512, one workgroup',
    type: 'q4_k',
    vocab: 100,
    dim: 512,
    rowsPerWg: 4096,
    rpt: 2,
  },
  { name: 'q5_0 vocab 70, dim 96', type: 'q5_0', vocab: 70, dim: 96, rowsPerWg: 32, rpt: 3 },
];

// `q8`: the normalised row is rounded to llama.cpp's int8 blocks for the classifier's type
// (float types keep f32), on both sides; quantized classifiers then miss the float logits by
// far more than TOL (checked).
describe.each(['f32', 'q8'] as const)('classifier with fused argmax, %s inputs', (xq) => {
  it.each(cases)('$name', async (c) => {
    const { device, cache } = await testGpu();
    const { vocab, dim } = c;
    const nSeq = 2;
    const values = randomF32(vocab * dim, vocab + dim, 0.3);
    const x = randomF32(3 * dim, dim, 1);
    const g = randomF32(dim, dim + 2, 1);
    const idx = Uint32Array.of(2, 0);
    if (c.name.includes('ties')) {
      // Rows 3 and 40 both ±1 along the first sequence's normalised row: an exact tie at the top.
      const xn = rmsnormRef(x.subarray(2 * dim, 3 * dim), g, dim, EPS);
      for (let i = 0; i < dim; i++) values[3 * dim + i] = values[40 * dim + i] = Math.sign(xn[i]!);
    }
    const bytes = ['f32', 'f16', 'q8_0', 'q4_0'].includes(c.type)
      ? toGguf(c.type, values)
      : randomGguf(c.type, vocab * dim, vocab + dim, 0.3);
    const words = packWeights(c.type, vocab, dim, bytes);
    const lay = weightLayout(c.type, vocab, dim);
    const w = dequantMatrix(lay, words);
    const nWg = Math.ceil(vocab / c.rowsPerWg);
    const final = nWg === 1;
    const head = await cache.prepare(
      headArgmaxProgram({ wtype: c.type, wg: 64, dim, final, rpt: c.rpt ?? 1, xq }),
    );
    const merge = await cache.prepare(argmaxMergeProgram({ wg: 64 }));
    const arena = new UniformArena(device, 2);
    const uh = arena
      .alloc(headArgmaxUniforms)
      .setAll({ vocab, rowsPerWg: c.rowsPerWg, nWg, wS: lay.scaleBase, eps: EPS });
    const um = arena.alloc(argmaxMergeUniforms).setAll({ nWg, vocab });
    arena.flush();
    const logits = emptyBuffer(device, nSeq * vocab * 4);
    const best = emptyBuffer(device, nSeq * nWg * 8);
    const out = emptyBuffer(device, nSeq * 4);
    const dh = new Dispatch(
      head,
      bindGroup(device, head, {
        W: upload(device, words),
        ACT: upload(device, x),
        G: upload(device, g),
        IDX: upload(device, idx),
        LOGITS: logits,
        BEST: best,
        OUT: out,
        P: arena.binding(uh),
      }),
    );
    const dm = new Dispatch(merge, bindGroup(device, merge, { BEST: best, OUT: out, P: arena.binding(um) }));
    await run(device, (pass) => {
      dh.encode(pass, nWg, nSeq);
      if (!final) dm.encode(pass, nSeq);
    });
    const got = await readF32(device, logits, nSeq * vocab);
    const ids = await readU32(device, out, nSeq);
    for (let s = 0; s < nSeq; s++) {
      const row = x.subarray(idx[s]! * dim, (idx[s]! + 1) * dim);
      const xn = rmsnormRef(row, g, dim, EPS);
      const qb = xq === 'q8' ? q8Block(c.type) : 0;
      const want = linearRef(w, vocab, dim, qb ? dequantQ8Row(quantizeActRef(xn, qb), qb) : xn, 1);
      const mine = got.subarray(s * vocab, (s + 1) * vocab);
      expect(maxAbsDiff(mine, want)).toBeLessThanOrEqual(TOL);
      if (qb) expect(maxAbsDiff(mine, linearRef(w, vocab, dim, xn, 1))).toBeGreaterThan(10 * TOL);
      expect(ids[s]).toBe(argmaxRef(mine));
    }
    if (c.name.includes('ties')) expect(ids[0]).toBe(3);
  });
});
