// attention_f16 (gen/attention-f16.ts) against a reference written here from ggml's CPU
// flash_attn_ext_f16 with an F16 cache: online softmax over the positions in order, the values
// accumulated in an f16 vector rounded at every step (ggml_vec_scale_f16 / ggml_vec_mad_f16),
// divided by the sum at the end. The kernel's exp is ours, not libm's, so an f16 rounding may
// land one half-ulp apart: the bound is a few f16 ulps of the output.

import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../src/formats/quant/index.js';
import { Arena, randomF32, rng } from './helpers/wasm-arena.js';

const f = Math.fround;
const h16 = (x: number) => f16ToF32(f32ToF16(x));

function flashF16Ref(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  row: (t: number) => number,
  c: { nHeads: number; headDim: number; kvMul: number; npos: number; scale: number },
): { out: Float32Array; exact: Float32Array } {
  const { nHeads, headDim, kvMul, npos, scale } = c;
  const out = new Float32Array(nHeads * headDim);
  const exact = new Float32Array(nHeads * headDim);
  for (let h = 0; h < nHeads; h++) {
    const kvh = Math.floor(h / kvMul) * headDim;
    const acc = new Float32Array(headDim);
    const s = new Float64Array(npos);
    let m = -Infinity;
    let sum = 0;
    for (let t = 0; t < npos; t++) {
      let dot = 0;
      for (let i = 0; i < headDim; i++) dot += q[h * headDim + i]! * k[row(t) + kvh + i]!;
      s[t] = f(f(dot) * scale);
      let ms = 1;
      let vs = 1;
      if (s[t]! > m) {
        ms = f(Math.exp(m - s[t]!));
        m = s[t]!;
        for (let i = 0; i < headDim; i++) acc[i] = h16(acc[i]! * ms);
      } else vs = f(Math.exp(s[t]! - m));
      for (let i = 0; i < headDim; i++) acc[i] = h16(acc[i]! + vs * v[row(t) + kvh + i]!);
      sum = f(sum * ms + vs);
    }
    for (let i = 0; i < headDim; i++) out[h * headDim + i] = acc[i]! / sum;
    // the same attention in float64, for the size of the f16 rounding
    let z = 0;
    for (let t = 0; t < npos; t++) z += Math.exp(s[t]! - m);
    for (let t = 0; t < npos; t++)
      for (let i = 0; i < headDim; i++)
        exact[h * headDim + i]! += (Math.exp(s[t]! - m) / z) * v[row(t) + kvh + i]!;
  }
  return { out, exact };
}

describe('attention_f16 (llama.cpp CPU flash attention over an f16 cache)', () => {
  const cases = [
    { nHeads: 1, nKv: 1, headDim: 2, pageSize: 1, npos: 1 },
    { nHeads: 8, nKv: 4, headDim: 8, pageSize: 16, npos: 17 },
    { nHeads: 4, nKv: 1, headDim: 7, pageSize: 5, npos: 23 },
    { nHeads: 2, nKv: 2, headDim: 130, pageSize: 3, npos: 65 },
  ];
  it.each(cases)(
    '$nHeads heads / $nKv KV heads of $headDim, $npos positions in pages of $pageSize',
    async (c) => {
      const rand = rng(c.npos * 13 + c.headDim);
      const a = await Arena.create();
      const kvDim = c.nKv * c.headDim;
      const used = Math.ceil(c.npos / c.pageSize);
      const pool = used + 2;
      const pages = Int32Array.from(
        Array.from({ length: pool }, (_, i) => i)
          .sort(() => rand() - 0.5)
          .slice(0, used),
      );
      // what the backend stores: q, K and V already rounded to f16
      const kc = randomF32(pool * c.pageSize * kvDim, rand, 2).map(h16);
      const vc = randomF32(pool * c.pageSize * kvDim, rand).map(h16);
      const q = randomF32(c.nHeads * c.headDim, rand, 2).map(h16);
      const row = (t: number) => (pages[Math.floor(t / c.pageSize)]! * c.pageSize + (t % c.pageSize)) * kvDim;
      const scale = 1 / Math.sqrt(c.headDim);
      const shape = { nHeads: c.nHeads, headDim: c.headDim, kvMul: c.nHeads / c.nKv, npos: c.npos, scale };
      const { out: want, exact } = flashF16Ref(q, kc, vc, row, shape);
      const pp = a.heap.alloc(pages.byteLength);
      a.heap.i32(pp, used).set(pages);
      const out = a.put(new Float32Array(want.length + 4).fill(7));
      a.k.attention_f16(
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
        scale,
      );
      const got = a.f32(out, want.length + 4);
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(2 ** -9);
        // and the f16 accumulator is visible, but small, against exact attention
        expect(Math.abs(got[i]! - exact[i]!)).toBeLessThanOrEqual(2 ** -6);
      }
      expect([...got.subarray(want.length)]).toEqual([7, 7, 7, 7]);
    },
  );
});
