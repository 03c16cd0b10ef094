// The wasm kernels of kernels.wat (the matmuls: cpu-quant-kernels.test.ts, their activations:
// cpu-activation-quant.test.ts) against plain float64 references on random data, including
// awkward sizes, with the error bound each kernel promises stated and checked.

import { beforeAll, describe, expect, it } from 'vitest';
import { rmsnorm, rope, swiglu } from '../src/reference/ops.js';
import { Arena, randomF32, rng } from './helpers/wasm-arena.js';

describe('element-wise kernels', () => {
  let a: Arena;
  beforeAll(async () => {
    a = await Arena.create();
  });

  for (const n of [1, 7, 63, 65, 4097]) {
    it(`rmsnorm over ${n}: within 1e-5 relative of the reference`, () => {
      const rand = rng(n);
      const x = randomF32(n, rand, 2);
      const w = randomF32(n, rand);
      const want = new Float32Array(n);
      rmsnorm(want, x, w, 1e-5);
      const px = a.put(x);
      a.k.rmsnorm(px, px, a.put(w), n, 1e-5); // in place, as the final norm runs
      const got = a.f32(px, n);
      for (let i = 0; i < n; i++)
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * Math.abs(want[i]!) + 1e-7);
    });

    it(`swiglu over ${n}: within 4e-7 relative of the reference (the exp polynomial is ~2 ulp)`, () => {
      const rand = rng(n + 1);
      const h = randomF32(n, rand, 12);
      const g = randomF32(n, rand);
      if (n > 4) {
        h[0] = 95; // past the exp clamp: silu(v) = v
        h[1] = -95; // silu(v) = 0
      }
      const want = h.slice();
      swiglu(want, g);
      const ph = a.put(h);
      a.k.swiglu(ph, a.put(g), n);
      const got = a.f32(ph, n);
      for (let i = 0; i < n; i++)
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(4e-7 * Math.abs(want[i]!) + 1e-30);
    });

    it(`add over ${n} is exact`, () => {
      const rand = rng(n + 2);
      const x = randomF32(n, rand);
      const y = randomF32(n, rand);
      const px = a.put(x);
      a.k.add(px, a.put(y), n);
      expect([...a.f32(px, n)]).toEqual([...x.map((v, i) => v + y[i]!)]);
    });
  }

  for (const style of ['interleaved', 'neox'] as const) {
    for (const headDim of [2, 8, 48, 64, 130]) {
      it(`rope (${style}, head ${headDim}) is bitwise the reference`, () => {
        const rand = rng(headDim);
        const nHeads = 3;
        const pos = 37;
        const theta = 10000;
        const v = randomF32(nHeads * headDim, rand);
        const cs = new Float64Array(headDim);
        for (let i = 0; i < headDim / 2; i++) {
          const angle = pos * (1 / theta ** ((2 * i) / headDim));
          cs[2 * i] = Math.cos(angle);
          cs[2 * i + 1] = Math.sin(angle);
        }
        const pcs = a.heap.alloc(cs.byteLength);
        a.heap.f64(pcs, headDim).set(cs);
        const pv = a.put(v);
        a.k.rope(pv, nHeads, headDim, pcs, style === 'neox' ? 1 : 0);
        rope(v, nHeads, headDim, headDim, cs, style);
        expect([...a.f32(pv, v.length)]).toEqual([...v]);
      });
    }
  }
});

/** Float64 causal attention of one query over positions 0..npos-1 of a paged cache. */
function attentionRef(
  q: Float32Array,
  kc: Float32Array,
  vc: Float32Array,
  pages: Int32Array,
  pageSize: number,
  kvDim: number,
  nHeads: number,
  headDim: number,
  kvMul: number,
  npos: number,
): Float64Array {
  const out = new Float64Array(nHeads * headDim);
  const row = (t: number) => (pages[Math.floor(t / pageSize)]! * pageSize + (t % pageSize)) * kvDim;
  for (let h = 0; h < nHeads; h++) {
    const kvh = Math.floor(h / kvMul) * headDim;
    const s = new Float64Array(npos);
    for (let t = 0; t < npos; t++) {
      for (let i = 0; i < headDim; i++) s[t]! += q[h * headDim + i]! * kc[row(t) + kvh + i]!;
      s[t]! /= Math.sqrt(headDim);
    }
    const max = Math.max(...s);
    let sum = 0;
    for (let t = 0; t < npos; t++) {
      s[t] = Math.exp(s[t]! - max);
      sum += s[t]!;
    }
    for (let t = 0; t < npos; t++)
      for (let i = 0; i < headDim; i++) out[h * headDim + i]! += (s[t]! / sum) * vc[row(t) + kvh + i]!;
  }
  return out;
}

describe('attention over a paged cache', () => {
  const cases = [
    { nHeads: 1, nKv: 1, headDim: 2, pageSize: 1, npos: 1 },
    { nHeads: 8, nKv: 4, headDim: 8, pageSize: 16, npos: 17 },
    { nHeads: 6, nKv: 6, headDim: 48, pageSize: 16, npos: 100 },
    { nHeads: 4, nKv: 1, headDim: 7, pageSize: 5, npos: 23 },
    { nHeads: 2, nKv: 2, headDim: 130, pageSize: 3, npos: 65 },
  ];
  for (const c of cases) {
    it(`${c.nHeads} heads / ${c.nKv} KV heads of ${c.headDim}, ${c.npos} positions in pages of ${c.pageSize}: within 1e-5`, async () => {
      const rand = rng(c.npos * 7 + c.headDim);
      const a = await Arena.create();
      const kvDim = c.nKv * c.headDim;
      const used = Math.ceil(c.npos / c.pageSize);
      const pool = used + 3;
      // pages shuffled through the pool, as an engine's allocator leaves them
      const perm = Array.from({ length: pool }, (_, i) => i).sort(() => rand() - 0.5);
      const pages = Int32Array.from(perm.slice(0, used));
      const kc = randomF32(pool * c.pageSize * kvDim, rand, 2);
      const vc = randomF32(pool * c.pageSize * kvDim, rand);
      const q = randomF32(c.nHeads * c.headDim, rand, 2);
      const want = attentionRef(
        q,
        kc,
        vc,
        pages,
        c.pageSize,
        kvDim,
        c.nHeads,
        c.headDim,
        c.nHeads / c.nKv,
        c.npos,
      );
      const pp = a.heap.alloc(pages.byteLength);
      a.heap.i32(pp, used).set(pages);
      const out = a.put(new Float32Array(c.nHeads * c.headDim + 4).fill(7));
      const att = a.heap.alloc(c.nHeads * (c.npos + 1) * 4);
      a.k.attention(
        out,
        a.put(q),
        a.put(kc),
        a.put(vc),
        pp,
        c.pageSize,
        kvDim,
        c.nHeads,
        c.headDim,
        c.nHeads / c.nKv,
        c.npos,
        att,
        1 / Math.sqrt(c.headDim),
      );
      const got = a.f32(out, want.length + 4);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5);
      expect([...got.subarray(want.length)]).toEqual([7, 7, 7, 7]);
    });
  }
});
