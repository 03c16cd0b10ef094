// The wasm kernels (kernels.wat) against plain float64 references on random data, including
// awkward sizes, with the error bound each kernel promises stated and checked.

import { beforeAll, describe, expect, it } from 'vitest';
import { WasmHeap } from '../src/backends/cpu/wasm/heap.js';
import { type CpuKernels, instantiateKernels } from '../src/backends/cpu/wasm/kernels.js';
import {
  f32x4Length,
  packF32x4,
  packQ8x4,
  q8x4Size,
  q8x4Slot,
  readF32x4Row,
} from '../src/backends/cpu/wasm/layout.js';
import { rmsnorm, rope, swiglu } from '../src/reference/ops.js';

const U = 2 ** -24; // float32 unit roundoff

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomF32(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** A fresh memory per case: kernels get exactly the buffers a test gives them. */
class Arena {
  readonly heap = new WasmHeap();
  k!: CpuKernels;
  static async create(): Promise<Arena> {
    const a = new Arena();
    a.k = await instantiateKernels(a.heap.memory);
    return a;
  }
  put(data: Float32Array | Int8Array): number {
    return this.heap.store(data);
  }
  f32(at: number, n: number): Float32Array {
    return this.heap.f32(at, n);
  }
}

describe('matvec_f32 (f32x4 layout)', () => {
  it('readF32x4Row reads back every row of the layout exactly', () => {
    const rand = rng(3);
    for (const [rows, cols] of [
      [1, 1],
      [5, 7],
      [9, 65],
    ] as const) {
      const w = randomF32(rows * cols, rand);
      const heap = new Float32Array(8 + f32x4Length(rows, cols) + cols);
      packF32x4(w, rows, cols, heap.subarray(8));
      const to = heap.length - cols;
      for (let r = 0; r < rows; r++) {
        readF32x4Row(heap, 8, r, cols, to);
        expect([...heap.subarray(to)]).toEqual([...w.subarray(r * cols, (r + 1) * cols)]);
      }
    }
  });

  const sizes = [1, 7, 63, 65, 4097];
  for (const rows of [1, 3, 4, 7, 65]) {
    for (const cols of sizes) {
      it(`${rows}×${cols}, within (cols+2)·u·Σ|w·x| of float64, and accumulating`, async () => {
        const rand = rng(rows * 10007 + cols);
        const a = await Arena.create();
        const w = randomF32(rows * cols, rand);
        const x = randomF32(cols, rand);
        const prior = randomF32(rows, rand);
        const packed = new Float32Array(f32x4Length(rows, cols));
        packF32x4(w, rows, cols, packed);
        const pw = a.put(packed);
        // NaN right after x: a kernel reading past cols would poison every sum
        const px = a.put(Float32Array.from([...x, Number.NaN, Number.NaN, Number.NaN, Number.NaN]));
        const out = a.put(new Float32Array(rows + 4).fill(7)); // the tail guards against overwrite
        const acc = a.put(Float32Array.from([...prior, 7, 7, 7, 7]));
        a.k.matvec_f32(out, pw, px, rows, cols, 0);
        a.k.matvec_f32(acc, pw, px, rows, cols, 1);
        const got = a.f32(out, rows + 4);
        const gotAcc = a.f32(acc, rows + 4);
        for (let r = 0; r < rows; r++) {
          let exact = 0;
          let mag = 0;
          for (let c = 0; c < cols; c++) {
            exact += w[r * cols + c]! * x[c]!;
            mag += Math.abs(w[r * cols + c]! * x[c]!);
          }
          const bound = (cols + 2) * U * mag + 1e-30;
          expect(Math.abs(got[r]! - exact)).toBeLessThanOrEqual(bound);
          expect(Math.abs(gotAcc[r]! - (exact + prior[r]!))).toBeLessThanOrEqual(
            bound + (cols + 3) * U * (mag + Math.abs(prior[r]!)),
          );
        }
        expect([...got.subarray(rows)]).toEqual([7, 7, 7, 7]);
        expect([...gotAcc.subarray(rows)]).toEqual([7, 7, 7, 7]);
      });
    }
  }
});

describe('quantize_q16', () => {
  it('keeps every value within d/2 of d·q, d = max|x|/32767 per block of 32; zero blocks stay zero', async () => {
    const rand = rng(5);
    const a = await Arena.create();
    const n = 32 * 9;
    const x = randomF32(n, rand, 3);
    x.fill(0, 64, 96); // an all-zero block
    x[100] = 1e-30; // a denormal-ish magnitude does not blow up
    const px = a.put(x);
    const xq = a.heap.alloc(n * 2);
    const xd = a.heap.alloc((n / 32) * 4);
    a.k.quantize_q16(px, n, xq, xd);
    const q = new Int16Array(a.heap.memory.buffer, xq, n);
    const d = a.f32(xd, n / 32);
    for (let b = 0; b < n / 32; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
      expect(d[b]).toBe(Math.fround(amax / 32767));
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        expect(Math.abs(x[i]! - d[b]! * q[i]!)).toBeLessThanOrEqual(d[b]! / 2 + amax * U * 2);
      }
    }
    expect([...q.subarray(64, 96)].every((v) => v === 0)).toBe(true);
  });
});

describe('matvec_q8 (q8x4 layout, int16 activations)', () => {
  for (const rows of [1, 3, 4, 5, 7, 63, 65]) {
    for (const cols of [32, 64, 288, 4096]) {
      it(`${rows}×${cols}, within the activation-quantization bound of float64`, async () => {
        const rand = rng(rows * 31 + cols);
        const a = await Arena.create();
        const nb = cols / 32;
        const q = Int8Array.from({ length: rows * cols }, () => Math.floor(rand() * 255) - 127);
        const d = Float32Array.from({ length: rows * nb }, () => rand() * 0.02);
        const x = randomF32(cols, rand, 4);
        const { qBytes, dBytes } = q8x4Size(rows, cols);
        const pq = a.heap.alloc(qBytes);
        const pd = a.heap.alloc(dBytes);
        packQ8x4(q, d, rows, cols, a.heap.i8(pq, qBytes), a.heap.f32(pd, dBytes / 4));
        const px = a.put(x);
        const xq = a.heap.alloc(cols * 2);
        const xd = a.heap.alloc(nb * 4);
        a.k.quantize_q16(px, cols, xq, xd);
        const dx = a.f32(xd, nb);
        const out = a.put(new Float32Array(rows + 4).fill(7));
        const prior = randomF32(rows, rand);
        const acc = a.put(Float32Array.from([...prior, 7, 7, 7, 7]));
        a.k.matvec_q8(out, pq, pd, rows, cols, xq, xd, 0);
        a.k.matvec_q8(acc, pq, pd, rows, cols, xq, xd, 1);
        const got = a.f32(out, rows + 4);
        const gotAcc = a.f32(acc, rows + 4);
        for (let r = 0; r < rows; r++) {
          // |Σ w·x − Σ w·x̂| ≤ Σ_b (dx_b/2)·Σ_j |w_j|, plus float rounding of each block's
          // (exact) integer sum, its two scalings and the nb-term accumulation.
          let exact = 0;
          let bound = 0;
          for (let b = 0; b < nb; b++) {
            let absW = 0;
            let block = 0;
            for (let j = 0; j < 32; j++) {
              const wv = d[r * nb + b]! * q[r * cols + b * 32 + j]!;
              exact += wv * x[b * 32 + j]!;
              absW += Math.abs(wv);
              block += Math.abs(wv * x[b * 32 + j]!);
            }
            bound += (dx[b]! / 2) * absW + (nb + 6) * U * (block + (dx[b]! / 2) * absW);
          }
          expect(Math.abs(got[r]! - exact)).toBeLessThanOrEqual(bound + 1e-30);
          expect(Math.abs(gotAcc[r]! - got[r]! - prior[r]!)).toBeLessThanOrEqual(
            2 * U * (Math.abs(got[r]!) + Math.abs(prior[r]!)),
          );
        }
        // rows past the last are padding in the layout and must not be written
        expect([...got.subarray(rows)]).toEqual([7, 7, 7, 7]);
        expect([...gotAcc.subarray(rows)]).toEqual([7, 7, 7, 7]);
      });
    }
  }

  it('dequant_q8 reads back any row of the layout exactly', async () => {
    const rand = rng(9);
    const a = await Arena.create();
    const rows = 7;
    const cols = 96;
    const q = Int8Array.from({ length: rows * cols }, () => Math.floor(rand() * 255) - 127);
    const d = Float32Array.from({ length: (rows * cols) / 32 }, () => rand());
    const { qBytes, dBytes } = q8x4Size(rows, cols);
    const pq = a.heap.alloc(qBytes);
    const pd = a.heap.alloc(dBytes);
    packQ8x4(q, d, rows, cols, a.heap.i8(pq, qBytes), a.heap.f32(pd, dBytes / 4));
    const out = a.heap.alloc(cols * 4);
    for (let r = 0; r < rows; r++) {
      const slot = q8x4Slot(r, cols);
      a.k.dequant_q8(out, pq + slot * 32, pd + slot * 4, cols / 32);
      const want = Float32Array.from({ length: cols }, (_, c) => q[r * cols + c]! * d[(r * cols + c) >> 5]!);
      expect([...a.f32(out, cols)]).toEqual([...want]);
    }
  });
});

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
