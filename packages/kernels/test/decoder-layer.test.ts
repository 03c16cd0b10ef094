import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import { attentionRef } from '../src/ops/attention.js';
import {
  type DecoderLayerPart,
  type DecoderLayerVariant,
  decoderLayerActivations,
  decoderLayerPack,
  decoderLayerProgram,
  decoderLayerSplitStride,
  decoderLayerUniforms,
  decoderLayerWorkgroups,
} from '../src/ops/decoder-layer.js';
import { linearRef } from '../src/ops/linear.js';
import { rmsnormRef } from '../src/ops/rmsnorm.js';
import { ropeRef, ropeTable } from '../src/ops/rope-kv.js';
import { swigluRef } from '../src/ops/swiglu.js';
import { dequantMatrix, packWeights, type WeightType, weightLayout } from '../src/quant/layout.js';
import { decoderLayerCases } from './cases/decoder-layer.js';
import { randomGguf } from './helpers/blocks.js';
import { emptyBuffer, readF32, run, testGpu, upload } from './helpers/gpu.js';
import { maxAbsDiff, randomF32, rng } from './helpers/random.js';

// The fused layer against the composition of the op references (rmsnorm, linear on the
// dequantized weights, rope, attention, swiglu) in f64 accumulation. Residual rows are O(1);
// the GPU accumulates in f32 in another order over ≤ 172 terms per product, through two
// norms and softmax: 2e-4 absolute on the layer output (quantization is the same on both sides).
const TOL = 2e-4;
const EPS = 1e-5;
const THETA = 10000;

describe('fused decoder layer (one workgroup, one dispatch)', () => {
  it.each(decoderLayerCases)('$name', async (c) => {
    const { device, cache } = await testGpu();
    const { dim, hidden, nHeads, nKv, headDim: hd, pageSize } = c;
    const qkvD = (nHeads + 2 * nKv) * hd;
    const ctx = Math.max(...c.seqs.map((s) => s.history + s.step));
    const v: DecoderLayerVariant = {
      tQ: c.types.q,
      tK: c.types.k,
      tV: c.types.v,
      tWo: c.types.wo,
      tGu: c.types.gu,
      tDn: c.types.dn,
      wg: c.wg,
      dim,
      hidden,
      nHeads,
      nKv,
      headDim: hd,
      ctx,
      style: c.style,
      act: c.act,
      rpt: c.rpt,
      part: 'all',
      split: c.split ?? 0,
    };
    const pack = decoderLayerPack(v);
    const image = new Uint32Array(pack.words);
    const seed = dim * 31 + hidden;
    const matrix = (type: WeightType, rows: number, cols: number, base: number, s: number) => {
      const bytes = randomGguf(type, rows * cols, s, 0.3);
      const words = packWeights(type, rows, cols, bytes);
      image.set(words, base);
      return dequantMatrix(weightLayout(type, rows, cols), words);
    };
    // q|k|v as the pack stacks them: one matrix per run of one type.
    const wqkv = new Float32Array(qkvD * dim);
    pack.qkv.forEach((m, i) => {
      wqkv.set(matrix(m.type, m.rows, dim, m.base, seed + 1 + 10 * i), m.rowStart * dim);
    });
    const wo = matrix(c.types.wo, dim, nHeads * hd, pack.wo.base, seed + 2);
    const wgu = matrix(c.types.gu, 2 * hidden, dim, pack.gateUp.base, seed + 3);
    const wdn = matrix(c.types.dn, dim, hidden, pack.down.base, seed + 4);
    const an = randomF32(dim, seed + 5, 1);
    const fn = randomF32(dim, seed + 6, 1);
    image.set(new Uint32Array(an.buffer), pack.attnNorm);
    image.set(new Uint32Array(fn.buffer), pack.ffnNorm);

    // Pages handed out shuffled, so a wrong page lookup cannot pass by accident.
    const maxPages = Math.ceil(ctx / pageSize);
    const pageCount = maxPages * c.seqs.length + 2;
    const r = rng(seed);
    const free = Array.from({ length: pageCount }, (_, i) => i).sort(() => r() - 0.5);
    const pages = new Int32Array(c.seqs.length * maxPages);
    for (let i = 0; i < pages.length; i++) pages[i] = free.pop()!;

    const maxT = Math.max(
      c.seqs.reduce((s, q) => s + q.history, 0),
      c.seqs.reduce((s, q) => s + q.step, 0),
    );
    const acts = decoderLayerActivations(v);
    const scr = maxT * dim;
    const sco =
      scr + (c.act === 'storage' ? acts.total : 0) + (c.split ? maxT * decoderLayerSplitStride(v) : 0);
    const act = emptyBuffer(device, (sco + acts.scores) * 4);
    const kvBytes = pageCount * pageSize * nKv * hd * 4;
    const kc = emptyBuffer(device, kvBytes);
    const vc = emptyBuffer(device, kvBytes);
    const parts: DecoderLayerPart[] = c.split ? ['qkv', 'attn', 'ffn', 'down'] : ['all'];
    const programs = await Promise.all(
      parts.map(async (part) => {
        const pv = { ...v, part };
        return { program: await cache.prepare(decoderLayerProgram(pv)), n: decoderLayerWorkgroups(pv) };
      }),
    );
    const arena = new UniformArena(device, 2);
    const common = {
      pageSize,
      maxPages,
      scr,
      sco,
      eps: EPS,
      scale: 1 / Math.sqrt(hd),
    };
    const w = upload(device, image);
    const pageBuf = upload(device, pages);
    const table = upload(device, ropeTable(THETA, hd, ctx));

    // CPU side: each sequence's rotated keys and values in position order.
    const kHist = c.seqs.map(() => new Float32Array(ctx * nKv * hd));
    const vHist = c.seqs.map(() => new Float32Array(ctx * nKv * hd));
    const refToken = (x: Float32Array, seq: number, pos: number) => {
      const xn = rmsnormRef(x, an, dim, EPS);
      const qkv = linearRef(wqkv, qkvD, dim, xn, 1);
      for (let h = 0; h < nHeads + nKv; h++) ropeRef(qkv.subarray(h * hd, (h + 1) * hd), pos, THETA, c.style);
      kHist[seq]!.set(qkv.subarray(nHeads * hd, (nHeads + nKv) * hd), pos * nKv * hd);
      vHist[seq]!.set(qkv.subarray((nHeads + nKv) * hd), pos * nKv * hd);
      const q = qkv.subarray(0, nHeads * hd);
      const att = attentionRef(q, kHist[seq]!, vHist[seq]!, pos + 1, nHeads, nKv, hd);
      const y = x.slice();
      const o = linearRef(wo, dim, nHeads * hd, att, 1);
      for (let i = 0; i < dim; i++) y[i]! += o[i]!;
      const gu = linearRef(wgu, 2 * hidden, dim, rmsnormRef(y, fn, dim, EPS), 1);
      const h = swigluRef(gu.subarray(0, hidden), gu.subarray(hidden));
      const d = linearRef(wdn, dim, hidden, h, 1);
      for (let i = 0; i < dim; i++) y[i]! += d[i]!;
      return y;
    };

    let phaseSeed = seed + 100;
    for (const phase of ['history', 'step'] as const) {
      const toks: { seq: number; pos: number }[] = [];
      c.seqs.forEach((s, i) => {
        const [from, to] = phase === 'history' ? [0, s.history] : [s.history, s.history + s.step];
        for (let p = from; p < to; p++) toks.push({ seq: i, pos: p });
      });
      const T = toks.length;
      if (T === 0) continue;
      const x = randomF32(T * dim, phaseSeed++, 1);
      const meta = new Uint32Array(T * 4);
      toks.forEach((t, j) => {
        meta.set([0, t.pos, t.seq, 0], j * 4);
      });
      const u = arena.alloc(decoderLayerUniforms).setAll({ ...common, T });
      arena.flush();
      device.queue.writeBuffer(act, 0, new Float32Array(x));
      const metaBuf = upload(device, meta);
      const ds = programs.map(({ program, n }) => {
        const group = bindGroup(device, program, {
          W: w,
          ACT: act,
          KC: kc,
          VC: vc,
          META: metaBuf,
          PAGES: pageBuf,
          ROPE: table,
          P: arena.binding(u),
        });
        return { d: new Dispatch(program, group), n };
      });
      if (c.split) expect(ds.some((d) => d.n > 1)).toBe(true);
      await run(device, (pass) => {
        for (const { d, n } of ds) d.encode(pass, n);
      });
      const got = await readF32(device, act, T * dim);
      const want = new Float32Array(T * dim);
      toks.forEach((t, j) => {
        want.set(refToken(x.subarray(j * dim, (j + 1) * dim), t.seq, t.pos), j * dim);
      });
      expect(maxAbsDiff(got, want), phase).toBeLessThanOrEqual(TOL);
    }
  });
});
