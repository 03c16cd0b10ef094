import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import { addProgram, addRef, addUniforms, elementGrid } from '../src/ops/add.js';
import { argmaxProgram, argmaxRef, argmaxUniforms } from '../src/ops/argmax.js';
import { embeddingProgram, embeddingUniforms } from '../src/ops/embedding.js';
import { rmsnormProgram, rmsnormRef, rmsnormUniforms } from '../src/ops/rmsnorm.js';
import { swigluProgram, swigluRef, swigluUniforms } from '../src/ops/swiglu.js';
import { dequantRow, packWeights, type WeightType, weightLayout } from '../src/quant/layout.js';
import { randomGguf } from './helpers/blocks.js';
import { emptyBuffer, readF32, readU32, run, testGpu, upload } from './helpers/gpu.js';
import { maxAbsDiff, randomF32 } from './helpers/random.js';

const sizes = [1, 7, 63, 65, 4097];

describe('rmsnorm', () => {
  // f32 sum of squares vs f64 over ≤ 4097 values, then one multiply: 1e-5 relative to |y| ≤ ~4.
  it.each(sizes)('dim %i, 3 tokens', async (dim) => {
    const { device, cache } = await testGpu();
    const x = randomF32(3 * dim, dim);
    const g = randomF32(dim, dim + 1);
    const program = await cache.prepare(rmsnormProgram({ wg: 64 }));
    const arena = new UniformArena(device, 1);
    const u = arena.alloc(rmsnormUniforms).setAll({ dim, T: 3, eps: 1e-5 });
    arena.flush();
    const y = emptyBuffer(device, x.byteLength);
    const d = new Dispatch(
      program,
      bindGroup(device, program, { X: upload(device, x), G: upload(device, g), Y: y, P: arena.binding(u) }),
    );
    await run(device, (pass) => d.encode(pass, 3));
    expect(maxAbsDiff(await readF32(device, y, x.length), rmsnormRef(x, g, dim, 1e-5))).toBeLessThanOrEqual(
      4e-5,
    );
  });
});

describe('swiglu and residual add', () => {
  // One exp and two products in f32 against f64: 1e-6 for |a|, |b| ≤ 4.
  it.each(sizes)('%i elements', async (n) => {
    const { device, cache } = await testGpu();
    const a = randomF32(n, n, 4);
    const b = randomF32(n, n + 1, 4);
    const arena = new UniformArena(device, 2);
    const us = arena.alloc(swigluUniforms).set('n', n);
    const ua = arena.alloc(addUniforms).set('n', n);
    arena.flush();
    const sw = await cache.prepare(swigluProgram({ wg: 64 }));
    const add = await cache.prepare(addProgram({ wg: 64 }));
    const y = emptyBuffer(device, a.byteLength);
    const sum = upload(device, b);
    const ds = new Dispatch(
      sw,
      bindGroup(device, sw, { A: upload(device, a), B: upload(device, b), Y: y, P: arena.binding(us) }),
    );
    const da = new Dispatch(
      add,
      bindGroup(device, add, { X: upload(device, a), Y: sum, P: arena.binding(ua) }),
    );
    const [gx, gy] = elementGrid(n, 64);
    await run(device, (pass) => {
      ds.encode(pass, gx, gy);
      da.encode(pass, gx, gy);
    });
    expect(maxAbsDiff(await readF32(device, y, n), swigluRef(a, b))).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(await readF32(device, sum, n), addRef(b, a))).toBeLessThanOrEqual(1e-6);
  });
});

describe('embedding gather', () => {
  const cases: { wtype: WeightType; cols: number }[] = [
    { wtype: 'f32', cols: 7 },
    { wtype: 'f16', cols: 65 },
    { wtype: 'q8_0', cols: 64 },
    { wtype: 'q4_0', cols: 288 },
    { wtype: 'bf16', cols: 33 },
    { wtype: 'q5_1', cols: 96 },
    { wtype: 'q6_k', cols: 256 },
    { wtype: 'q4_k', cols: 512 },
    { wtype: 'iq4_xs', cols: 256 },
  ];
  // Both sides decode the same blocks; the GPU computes scale · q + offset, which for types with
  // a min may round differently from ggml's d·q − m by one ulp: 1e-6 on values O(1).
  it.each(cases)('$wtype table [vocab 65 x $cols]', async ({ wtype, cols }) => {
    const { device, cache } = await testGpu();
    const vocab = 65;
    const lay = weightLayout(wtype, vocab, cols);
    const words = packWeights(wtype, vocab, cols, randomGguf(wtype, vocab * cols, cols));
    const tokens = [0, 64, 7, 7, 33];
    const meta = new Uint32Array(tokens.length * 4);
    tokens.forEach((t, i) => {
      meta.set([t, i, 0, 0], i * 4);
    });
    const program = await cache.prepare(embeddingProgram({ wtype, wg: 64 }));
    const arena = new UniformArena(device, 1);
    const u = arena
      .alloc(embeddingUniforms)
      .setAll({ cols, wScale: lay.scaleBase, T: tokens.length, rowStart: 0, rows: vocab });
    arena.flush();
    const y = emptyBuffer(device, tokens.length * cols * 4);
    const d = new Dispatch(
      program,
      bindGroup(device, program, {
        W: upload(device, words),
        META: upload(device, meta),
        Y: y,
        P: arena.binding(u),
      }),
    );
    const [gx, gy] = elementGrid(tokens.length * cols, 64);
    await run(device, (pass) => d.encode(pass, gx, gy));
    const got = await readF32(device, y, tokens.length * cols);
    const want = new Float32Array(tokens.length * cols);
    tokens.forEach((t, i) => {
      dequantRow(lay, words, t, want.subarray(i * cols, (i + 1) * cols));
    });
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-6);
  });
});

describe('argmax', () => {
  it.each([1, 7, 63, 65, 4097, 32000])('vocab %i, 3 rows, ties to the lowest index', async (vocab) => {
    const { device, cache } = await testGpu();
    const logits = randomF32(3 * vocab, vocab, 10);
    // Row 2: a tie between two maxima, the later one must lose.
    if (vocab > 2) {
      logits[2 * vocab + vocab - 1] = 50;
      logits[2 * vocab + 1] = 50;
    }
    const program = await cache.prepare(argmaxProgram({ wg: 256 }));
    const arena = new UniformArena(device, 1);
    const u = arena.alloc(argmaxUniforms).setAll({ vocab, n: 3 });
    arena.flush();
    const out = emptyBuffer(device, 12);
    const d = new Dispatch(
      program,
      bindGroup(device, program, { LOGITS: upload(device, logits), OUT: out, P: arena.binding(u) }),
    );
    await run(device, (pass) => d.encode(pass, 3));
    const want = [0, 1, 2].map((r) => argmaxRef(logits.subarray(r * vocab, (r + 1) * vocab)));
    expect(Array.from(await readU32(device, out, 3))).toEqual(want);
  });
});
