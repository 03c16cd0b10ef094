/**
 * The real-GPU shapes of the linear kernel, run on SwiftShader (subgroups of 4 lanes): the
 * activation quantizer against its CPU reference, the dp4a (int8-activation) matrix products
 * of every block type against the dequantized weights times the dequantized activations, and
 * the subgroup reductions in their three regimes (row narrower than, as wide as, and wider
 * than a subgroup).
 */
import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { kernelProfile } from '../src/gpu/profile.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import {
  type LinearVariant,
  linearGrid,
  linearProgram,
  linearRef,
  linearUniforms,
} from '../src/ops/linear.js';
import {
  dequantQ8Row,
  packQ8Row,
  q8RowWords,
  quantizeActGrid,
  quantizeActProgram,
  quantizeActRef,
  quantizeActUniforms,
} from '../src/ops/quantize-act.js';
import { rmsnormRef } from '../src/ops/rmsnorm.js';
import { swigluRef } from '../src/ops/swiglu.js';
import { packWeights, weightLayout } from '../src/quant/layout.js';
import { dequantGguf } from '../src/quant/reference.js';
import { WEIGHT_TYPES, type WeightType } from '../src/quant/types.js';
import { randomGguf } from './helpers/blocks.js';
import { emptyBuffer, readU32, run, testGpu, upload } from './helpers/gpu.js';
import { randomF32 } from './helpers/random.js';

const REL = 2e-5;
const BLOCK_TYPES: WeightType[] = [
  'q8_0',
  'q4_0',
  'q4_1',
  'q5_0',
  'q5_1',
  'iq4_nl',
  'q2_k',
  'q3_k',
  'q4_k',
  'q5_k',
  'q6_k',
  'iq4_xs',
];
const GPU = kernelProfile({ vendor: 'nvidia' }, new Set(['subgroups']), new Set());

describe('activation quantizer (Q8_0/Q8_1 per 32, Q8_K per 256)', () => {
  it.each([
    { qb: 32, cols: 32, tokens: 1, norm: false },
    { qb: 32, cols: 96 * 32, tokens: 3, norm: true },
    { qb: 256, cols: 256, tokens: 2, norm: false },
    { qb: 256, cols: 768, tokens: 3, norm: true },
  ])('qb $qb, $cols cols × $tokens, norm $norm', async ({ qb, cols, tokens, norm }) => {
    const { device, cache } = await testGpu();
    const x = randomF32(tokens * cols, cols + qb, 3);
    x[5] = 0; // a zero, and a whole zero block
    if (tokens > 1) x.fill(0, cols, cols + qb);
    const g = randomF32(cols, 7);
    const v = { qb, norm, wg: 64 };
    const program = await cache.prepare(quantizeActProgram(v));
    const arena = new UniformArena(device, 1);
    const qStride = q8RowWords(cols, qb);
    const u = arena.alloc(quantizeActUniforms).setAll({ cols, T: tokens, xStride: cols, qStride, eps: 1e-5 });
    arena.flush();
    const qBuf = emptyBuffer(device, tokens * qStride * 4);
    const res = { X: upload(device, x), Q: qBuf, G: upload(device, g), P: arena.binding(u) };
    const d = new Dispatch(program, bindGroup(device, program, res));
    await run(device, (pass) => d.encode(pass, ...quantizeActGrid(v, cols, tokens)));
    const got = await readU32(device, qBuf, tokens * qStride);
    let off = 0;
    for (let t = 0; t < tokens; t++) {
      const row = x.subarray(t * cols, (t + 1) * cols);
      const want = quantizeActRef(norm ? rmsnormRef(row, g, cols, 1e-5) : row, qb);
      const gq = new Int8Array(got.buffer, t * qStride * 4, cols);
      const gd = new Float32Array(got.buffer, (t * qStride + cols / 4) * 4, cols / qb);
      const gs = new Int32Array(got.buffer, (t * qStride + cols / 4 + cols / qb) * 4, cols / 16);
      // GPU division is not correctly rounded: a quant on a rounding boundary may move by one.
      for (let c = 0; c < cols; c++) {
        expect(Math.abs(gq[c]! - want.q[c]!)).toBeLessThanOrEqual(1);
        if (gq[c] !== want.q[c]) off++;
      }
      for (let b = 0; b < cols / qb; b++)
        expect(Math.abs(gd[b]! - want.d[b]!)).toBeLessThanOrEqual(1e-6 * Math.abs(want.d[b]!));
      for (let s = 0; s < cols / 16; s++) {
        let sum = 0;
        for (let i = 0; i < 16; i++) sum += gq[s * 16 + i]!;
        expect(gs[s]).toBe(sum);
      }
    }
    expect(off / (tokens * cols)).toBeLessThan(0.01);
  });
});

interface Case {
  wtype: WeightType;
  rows: number;
  blocks: number;
  tokens: number;
  epi: LinearVariant['epi'];
  gather: boolean;
  shape: { wg: number; tpr: number; rpt: number; tt: number };
  subgroups: boolean;
  act: LinearVariant['act'];
}

/** Every block type with int8 activations, as decode (matvec) and as prefill (tiles), subgroups on and off. */
const dp4aCases: Case[] = BLOCK_TYPES.flatMap((wtype, i): Case[] => [
  {
    wtype,
    rows: 65,
    blocks: 3,
    tokens: 1,
    epi: i % 3 === 0 ? 'add' : 'store',
    gather: false,
    shape: { ...GPU.matvec, tt: 1 },
    subgroups: i % 2 === 0,
    act: 'q8',
  },
  {
    wtype,
    rows: 33,
    blocks: 2,
    tokens: 5,
    epi: i % 4 === 1 ? 'swiglu' : 'store',
    gather: i % 4 === 2,
    shape: GPU.matmul,
    subgroups: i % 2 === 1,
    act: 'q8',
  },
]);

/** The butterfly inside one subgroup (tpr 2, 4) and the second level through workgroup memory (16, 32). */
const reduceCases: Case[] = [
  ...[2, 4, 16, 32].map(
    (tpr): Case => ({
      wtype: 'f32',
      rows: 63,
      blocks: 130,
      tokens: 1,
      epi: 'store',
      gather: false,
      shape: { wg: 128, tpr, rpt: 1, tt: 1 },
      subgroups: true,
      act: 'f32',
    }),
  ),
  ...(['q4_k', 'q5_0'] as WeightType[]).map(
    (wtype): Case => ({
      wtype,
      rows: 40,
      blocks: 4,
      tokens: 3,
      epi: 'swiglu',
      gather: false,
      shape: { wg: 128, tpr: 32, rpt: 2, tt: 2 },
      subgroups: true,
      act: 'f32',
    }),
  ),
  {
    wtype: 'q6_k',
    rows: 17,
    blocks: 2,
    tokens: 3,
    epi: 'store',
    gather: false,
    shape: { wg: 64, tpr: 8, rpt: 2, tt: 2 },
    subgroups: true,
    act: 'q8',
  },
];

const name = (c: Case) =>
  `${c.wtype} ${c.act} [${c.rows}x${c.blocks} blocks]·X[${c.tokens}] ${c.epi}${c.gather ? ' gather' : ''} wg ${c.shape.wg} tpr ${c.shape.tpr} tt ${c.shape.tt}${c.subgroups ? ' subgroups' : ''}`;

describe('linear on real-GPU shapes', () => {
  it.each([...dp4aCases, ...reduceCases].map((c) => ({ ...c, name: name(c) })))('$name', async (c) => {
    const { device, cache, profile } = await testGpu();
    if (c.subgroups) expect(profile.subgroups).toBe(true);
    const info = WEIGHT_TYPES[c.wtype];
    const cols = c.blocks * info.blockElems;
    const qb = info.blockElems;
    const wRows = c.epi === 'swiglu' ? c.rows * 2 : c.rows;
    const seed = c.rows * 17 + cols;
    const gguf = randomGguf(c.wtype, wRows * cols, seed, 0.5);
    const lay = weightLayout(c.wtype, wRows, cols);
    const w = dequantGguf(c.wtype, gguf, wRows * cols);
    const xTokens = c.gather ? c.tokens + 3 : c.tokens;
    const x = randomF32(xTokens * cols, seed + 1);
    const idx = Uint32Array.from({ length: c.tokens }, (_, i) => (i * 3 + 1) % xTokens);
    const y0 = randomF32(c.tokens * c.rows, seed + 2);

    // X as the kernel reads it (floats or quantized rows), and the floats it stands for.
    const xStride = c.act === 'q8' ? q8RowWords(cols, qb) : cols;
    const xGpu = c.act === 'q8' ? new Uint32Array(xTokens * xStride) : x;
    const xEff = new Float32Array(xTokens * cols);
    for (let t = 0; t < xTokens; t++) {
      const row = x.subarray(t * cols, (t + 1) * cols);
      if (c.act === 'q8') {
        const q = quantizeActRef(row, qb);
        (xGpu as Uint32Array).set(packQ8Row(q, qb), t * xStride);
        xEff.set(dequantQ8Row(q, qb), t * cols);
      } else xEff.set(row, t * cols);
    }
    const xs = new Float32Array(c.tokens * cols);
    for (let t = 0; t < c.tokens; t++) {
      const r = c.gather ? idx[t]! : t;
      xs.set(xEff.subarray(r * cols, (r + 1) * cols), t * cols);
    }
    const full = linearRef(w, wRows, cols, xs, c.tokens);
    const abs = linearRef(w.map(Math.abs), wRows, cols, xs.map(Math.abs), c.tokens);
    const want = new Float32Array(c.tokens * c.rows);
    const bound = new Float32Array(c.tokens * c.rows);
    for (let t = 0; t < c.tokens; t++) {
      for (let r = 0; r < c.rows; r++) {
        const i = t * c.rows + r;
        const gate = full[t * wRows + r]!;
        bound[i] = REL * abs[t * wRows + r]! + 1e-6;
        if (c.epi === 'add') want[i] = y0[i]! + gate;
        else if (c.epi === 'swiglu') {
          const up = full[t * wRows + c.rows + r]!;
          want[i] = swigluRef(Float32Array.of(gate), Float32Array.of(up))[0]!;
          bound[i] =
            REL * (abs[t * wRows + r]! * Math.abs(up) + abs[t * wRows + c.rows + r]! * Math.abs(gate)) + 1e-6;
        } else want[i] = gate;
      }
    }

    const v: LinearVariant = {
      wtype: c.wtype,
      ...c.shape,
      norm: false,
      epi: c.epi,
      gather: c.gather,
      subgroups: c.subgroups,
      act: c.act,
    };
    const program = await cache.prepare(linearProgram(v));
    const arena = new UniformArena(device, 1);
    const u = arena.alloc(linearUniforms).setAll({
      rows: c.rows,
      cols,
      T: c.tokens,
      wScale: lay.scaleBase,
      xStride,
      yStride: c.rows,
      yOff: 0,
      upOff: c.rows,
      eps: 1e-5,
    });
    arena.flush();
    const yBuf = c.epi === 'add' ? upload(device, y0) : emptyBuffer(device, y0.byteLength);
    const res = {
      W: upload(device, packWeights(c.wtype, wRows, cols, gguf)),
      X: upload(device, xGpu),
      Y: yBuf,
      IDX: upload(device, idx),
      P: arena.binding(u),
    };
    const d = new Dispatch(program, bindGroup(device, program, res));
    await run(device, (pass) => d.encode(pass, ...linearGrid(v, c.rows, c.tokens)));
    const got = new Float32Array((await readU32(device, yBuf, want.length)).buffer);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / bound[i]!);
    expect(worst).toBeLessThanOrEqual(1);
  });
});
