import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import { attentionF16Ref, attentionRef } from '../src/ops/attention.js';
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
import { dequantQ8Row, quantizeActRef } from '../src/ops/quantize-act.js';
import { rmsnormRef } from '../src/ops/rmsnorm.js';
import { ropeRef, ropeTable } from '../src/ops/rope-kv.js';
import { swigluRef } from '../src/ops/swiglu.js';
import { f16Round } from '../src/quant/f16.js';
import { dequantMatrix, packWeights, type WeightType, weightLayout } from '../src/quant/layout.js';
import { q8Block } from '../src/quant/types.js';
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
/**
 * llama.cpp's arithmetic (int8 matrix inputs, f16 cache and value accumulator) against the same
 * roundings in the reference: an f32 difference of the two sides can move an f16 rounding of
 * the cache or the accumulator by an ulp, which later products carry (measured ≤ 6.2e-4, ≤ 1e-5
 * where weights are quantized); 2e-3. The output must be nearer this reference than the float
 * one (measured 2e-4 to 1.0 away), so a kernel that skipped a rounding fails.
 */
const LLAMA_TOL = 2e-3;

const ARITHMETIC = [
  { name: 'float', kv: 'f32', xq: 'f32' },
  { name: "llama.cpp's (int8 inputs, f16 cache)", kv: 'f16', xq: 'q8' },
] as const;

/** x as the kernel multiplies it: rounded to the int8 blocks of the matrix's type in `q8` mode. */
function input(x: Float32Array, types: WeightType[], xq: 'q8' | 'f32'): Float32Array {
  const qb = [...new Set(types.map(q8Block))];
  if (xq === 'f32' || qb.length !== 1 || qb[0] === 0) return x;
  return dequantQ8Row(quantizeActRef(x, qb[0]!), qb[0]!);
}

describe.each(ARITHMETIC)('fused decoder layer (one workgroup, one dispatch), $name arithmetic', (arith) => {
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
      kv: arith.kv,
      xq: arith.xq,
    };
    const t = c.types;
    const f16 = arith.kv === 'f16';
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
    // (per arithmetic: the llama.cpp-arithmetic test also runs the float reference, which its
    // output must be further from.)
    const history = () => ({
      k: c.seqs.map(() => new Float32Array(ctx * nKv * hd)),
      v: c.seqs.map(() => new Float32Array(ctx * nKv * hd)),
    });
    const hist = { f32: history(), f16: history() };
    const refToken = (x: Float32Array, seq: number, pos: number, a: (typeof ARITHMETIC)[number]) => {
      const r16 = (x: Float32Array) => (a.kv === 'f16' ? x.map(f16Round) : x);
      const kHist = hist[a.kv].k;
      const vHist = hist[a.kv].v;
      const xn = input(rmsnormRef(x, an, dim, EPS), [t.q, t.k, t.v], a.xq);
      const qkv = linearRef(wqkv, qkvD, dim, xn, 1);
      for (let h = 0; h < nHeads + nKv; h++) ropeRef(qkv.subarray(h * hd, (h + 1) * hd), pos, THETA, c.style);
      kHist[seq]!.set(r16(qkv.subarray(nHeads * hd, (nHeads + nKv) * hd)), pos * nKv * hd);
      vHist[seq]!.set(r16(qkv.subarray((nHeads + nKv) * hd)), pos * nKv * hd);
      const q = r16(qkv.subarray(0, nHeads * hd));
      const attend = a.kv === 'f16' ? attentionF16Ref : attentionRef;
      const att = attend(q, kHist[seq]!, vHist[seq]!, pos + 1, nHeads, nKv, hd);
      const y = x.slice();
      const o = linearRef(wo, dim, nHeads * hd, input(att, [t.wo], a.xq), 1);
      for (let i = 0; i < dim; i++) y[i]! += o[i]!;
      const gu = linearRef(wgu, 2 * hidden, dim, input(rmsnormRef(y, fn, dim, EPS), [t.gu], a.xq), 1);
      const h = swigluRef(gu.subarray(0, hidden), gu.subarray(hidden));
      const d = linearRef(wdn, dim, hidden, input(h, [t.dn], a.xq), 1);
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
      const float = new Float32Array(T * dim);
      toks.forEach((t, j) => {
        const xj = x.subarray(j * dim, (j + 1) * dim);
        want.set(refToken(xj, t.seq, t.pos, arith), j * dim);
        if (f16) float.set(refToken(xj, t.seq, t.pos, ARITHMETIC[0]), j * dim);
      });
      const err = maxAbsDiff(got, want);
      expect(err, phase).toBeLessThanOrEqual(f16 ? LLAMA_TOL : TOL);
      if (f16)
        expect(err, `${phase}: nearer llama.cpp's arithmetic than float`).toBeLessThan(
          maxAbsDiff(got, float) / 2,
        );
    }
  });
});
