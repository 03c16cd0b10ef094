import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import {
  type LinearVariant,
  linearGrid,
  linearProgram,
  linearRef,
  linearUniforms,
} from '../src/ops/linear.js';
import { rmsnormRef } from '../src/ops/rmsnorm.js';
import { swigluRef } from '../src/ops/swiglu.js';
import { dequantMatrix, packWeights, weightLayout } from '../src/quant/layout.js';
import { dequantGguf } from '../src/quant/reference.js';
import { linearCases } from './cases/linear.js';
import { randomGguf } from './helpers/blocks.js';
import { emptyBuffer, readF32, run, testGpu, upload } from './helpers/gpu.js';
import { randomF32 } from './helpers/random.js';

// Error bound, the same for every type: the GPU dequantizes the same blocks the CPU reference
// (ggml's dequantizer over the GGUF bytes) reads, but factors each group's scale out of its sum
// and sums in another f32 order. Each output may be off by 2e-5 of Σ|w·x| (≈ sqrt(cols) · 2^-24
// with margin, plus the min term's cancellation) plus 1e-6 absolute.
const REL = 2e-5;

describe('linear (fused-dequant matrix–vector and matrix–matrix)', () => {
  it.each(linearCases)('$name', async (c) => {
    const { device, cache, profile } = await testGpu();
    const epi = c.epi ?? 'store';
    const wRows = epi === 'swiglu' ? c.rows * 2 : c.rows;
    const seed = c.rows * 31 + c.cols;
    const lay = weightLayout(c.wtype, wRows, c.cols);
    const gguf = randomGguf(c.wtype, wRows * c.cols, seed, 0.5);
    const words = packWeights(c.wtype, wRows, c.cols, gguf);
    // The reference reads the GGUF bytes through ggml's dequantizer, not the GPU layout.
    const w = dequantGguf(c.wtype, gguf, wRows * c.cols);
    expect(dequantMatrix(lay, words)).toEqual(w);
    const xTokens = c.gather ? c.tokens + 4 : c.tokens;
    const x = randomF32(xTokens * c.cols, seed + 1);
    const g = randomF32(c.cols, seed + 2);
    const idx = Uint32Array.from({ length: c.tokens }, (_, i) => (i * 5 + 2) % xTokens);
    const y0 = randomF32(c.tokens * c.rows, seed + 3);

    // Reference, composed from the separate CPU references.
    const xs = new Float32Array(c.tokens * c.cols);
    for (let t = 0; t < c.tokens; t++) {
      const row = c.gather ? idx[t]! : t;
      xs.set(x.subarray(row * c.cols, (row + 1) * c.cols), t * c.cols);
    }
    const xin = c.norm ? rmsnormRef(xs, g, c.cols, 1e-5) : xs;
    const full = linearRef(w, wRows, c.cols, xin, c.tokens);
    const abs = linearRef(w.map(Math.abs), wRows, c.cols, xin.map(Math.abs), c.tokens);
    const want = new Float32Array(c.tokens * c.rows);
    const bound = new Float32Array(c.tokens * c.rows);
    for (let t = 0; t < c.tokens; t++) {
      const gate = full.subarray(t * wRows, t * wRows + c.rows);
      for (let r = 0; r < c.rows; r++) {
        const i = t * c.rows + r;
        bound[i] = REL * abs[t * wRows + r]! + 1e-6;
        if (epi === 'add') want[i] = y0[i]! + gate[r]!;
        else if (epi === 'swiglu') {
          const up = full[t * wRows + c.rows + r]!;
          want[i] = swigluRef(gate.subarray(r, r + 1), Float32Array.of(up))[0]!;
          bound[i] =
            REL * (abs[t * wRows + r]! * Math.abs(up) + abs[t * wRows + c.rows + r]! * Math.abs(gate[r]!)) +
            1e-6;
        } else want[i] = gate[r]!;
      }
    }

    const shape = c.shape ?? (c.tokens > 1 ? profile.matmul : { ...profile.matvec, tt: 1 });
    const v: LinearVariant = {
      wtype: c.wtype,
      wg: shape.wg,
      tpr: shape.tpr,
      rpt: shape.rpt,
      tt: shape.tt,
      norm: Boolean(c.norm),
      epi,
      gather: Boolean(c.gather),
      subgroups: Boolean(c.shape?.subgroups) && profile.subgroups,
      act: 'f32',
    };
    const program = await cache.prepare(linearProgram(v));
    const arena = new UniformArena(device, 1);
    const u = arena.alloc(linearUniforms).setAll({
      rows: c.rows,
      cols: c.cols,
      T: c.tokens,
      wScale: lay.scaleBase,
      xStride: c.cols,
      yStride: c.rows,
      yOff: 0,
      upOff: c.rows,
      eps: 1e-5,
    });
    arena.flush();
    const yBuf = epi === 'add' ? upload(device, y0) : emptyBuffer(device, y0.byteLength);
    const d = new Dispatch(
      program,
      bindGroup(device, program, {
        W: upload(device, words),
        X: upload(device, x),
        Y: yBuf,
        G: upload(device, g),
        IDX: upload(device, idx),
        P: arena.binding(u),
      }),
    );
    const [gx, gy] = linearGrid(v, c.rows, c.tokens);
    await run(device, (pass) => d.encode(pass, gx, gy));
    const got = await readF32(device, yBuf, want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / bound[i]!);
    expect(worst).toBeLessThanOrEqual(1);
  });
});
