// The activation quantizers of the wasm matmuls (gen/activations.ts) bit for bit against
// references written here from ggml: quantize_row_q8_0 / quantize_row_q8_1 as its x86 (AVX2)
// build runs them, quantize_row_q8_K_ref (which x86 runs as is), and the f16 / bf16 roundings
// of ggml's from_float. Blocks include ties (x·id exactly k + ½), zero blocks, and a largest
// magnitude held by both signs.

import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../src/formats/quant/index.js';
import { Arena, randomF32, rng } from './helpers/wasm-arena.js';

const f = Math.fround;
const f16 = (x: number) => f16ToF32(f32ToF16(x));

/** Round half to even (_MM_ROUND_NEAREST, f32x4.nearest). */
function rne(v: number): number {
  const lo = Math.floor(v);
  const diff = v - lo;
  if (diff < 0.5) return lo;
  if (diff > 0.5) return lo + 1;
  return lo % 2 === 0 ? lo : lo + 1;
}

/** ggml's nearest_int: the float trick, 1.5·2^23 added and its mantissa read. */
function nearestInt(fval: number): number {
  const b = new Float32Array([f(fval + 12582912)]);
  return (new Int32Array(b.buffer)[0]! & 0x007fffff) - 0x00400000;
}

interface Quantized {
  q: Int16Array;
  d: Float32Array; // per 32
  s: Float32Array; // per 16
}

/** x86 quantize_row_q8_0 (q, d) and quantize_row_q8_1 (s), AVX2 branch; s in even slots. */
function refQ8_0(x: Float32Array): Quantized {
  const n = x.length;
  const out = { q: new Int16Array(n), d: new Float32Array(n / 32), s: new Float32Array(n / 16) };
  for (let b = 0; b < n / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = f(amax / 127);
    const id = amax !== 0 ? f(127 / amax) : 0;
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const v = rne(f(x[b * 32 + j]! * id));
      out.q[b * 32 + j] = v;
      sum += v;
    }
    out.d[b] = f16(d);
    out.s[2 * b] = f16(f(d * sum));
  }
  return out;
}

/** quantize_row_q8_K_ref; d repeated in each 32's slot, bsums times d per 16. */
function refQ8_K(x: Float32Array): Quantized {
  const n = x.length;
  const out = { q: new Int16Array(n), d: new Float32Array(n / 32), s: new Float32Array(n / 16) };
  for (let b = 0; b < n / 256; b++) {
    let max = 0;
    let amax = 0;
    for (let j = 0; j < 256; j++) {
      const ax = Math.abs(x[b * 256 + j]!);
      if (ax > amax) {
        amax = ax;
        max = x[b * 256 + j]!;
      }
    }
    if (!amax) continue; // d = 0, qs = 0 (and so bsums)
    const iscale = f(-127 / max);
    for (let j = 0; j < 256; j++) out.q[b * 256 + j] = Math.min(127, nearestInt(f(iscale * x[b * 256 + j]!)));
    const d = f(1 / iscale);
    for (let j = 0; j < 8; j++) out.d[b * 8 + j] = d;
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let i = 0; i < 16; i++) sum += out.q[b * 256 + 16 * j + i]!;
      out.s[b * 16 + j] = f(d * sum);
    }
  }
  return out;
}

/** ggml_compute_fp32_to_bf16 (round to nearest even; no NaN here), back to float32. */
function bf16(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  const r = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(new Uint32Array([r]).buffer)[0]!;
}

/** Random activations with the awkward blocks both quantizers must get right. */
function activations(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  const x = randomF32(n, rand, 3);
  x.fill(0, 256, 512); // a zero block of 256 (and so of 32)
  // block of 256 #2: max magnitude 127 with a minus sign first, then a plus: iscale = 1, ties at .5
  for (let j = 0; j < 256; j++) x[512 + j] = (Math.floor(rand() * 200) - 100) / 2;
  x[512 + 7] = -127;
  x[512 + 100] = 127;
  // a Q8_0 block with amax 127 (id = 1): halves are ties
  for (let j = 0; j < 32; j++) x[768 + j] = (Math.floor(rand() * 254) - 127) / 2;
  x[768 + 3] = 127;
  x[1024 + 5] = 1e-30; // a tiny value among ordinary ones
  for (let j = 0; j < 32; j++) x[1280 + j] = 1e-7 * (rand() - 0.5); // d a subnormal half
  return x;
}

describe('activation quantizers (llama.cpp vec_dot_type)', () => {
  const n = 256 * 6;
  const run = async (kind: 'q8_0' | 'q8_K', x: Float32Array) => {
    const a = await Arena.create();
    const px = a.put(x);
    const xq = a.heap.alloc(n * 2);
    const xd = a.heap.alloc((n / 32) * 4);
    const xs = a.heap.alloc((n / 16) * 4);
    a.k[`quantize_${kind}`](px, n, xq, xd, xs);
    return {
      q: new Int16Array(a.heap.memory.buffer, xq, n),
      d: a.f32(xd, n / 32),
      s: a.f32(xs, n / 16),
    };
  };

  it.each([1, 2, 3])('quantize_q8_0 is x86 quantize_row_q8_0/q8_1 bit for bit (seed %i)', async (seed) => {
    const x = activations(n, seed);
    const got = await run('q8_0', x);
    const want = refQ8_0(x);
    expect([...got.q]).toEqual([...want.q]);
    expect([...got.d]).toEqual([...want.d]);
    expect([...got.s]).toEqual([...want.s]);
    expect(Math.max(...got.q.map(Math.abs))).toBeLessThanOrEqual(127);
  });

  it.each([1, 2, 3])('quantize_q8_K is quantize_row_q8_K_ref bit for bit (seed %i)', async (seed) => {
    const x = activations(n, seed);
    const got = await run('q8_K', x);
    const want = refQ8_K(x);
    expect([...got.q]).toEqual([...want.q]);
    expect([...got.d]).toEqual([...want.d]);
    expect([...got.s]).toEqual([...want.s]);
    // the tie block: -127 comes first, so iscale = -127/max = 1 and d = 1 (a +127 first: d = -1)
    expect(got.q[512 + 7]).toBe(-127);
    expect(got.q[512 + 100]).toBe(127);
    expect(got.d[16]).toBe(1);
  });

  it('round_f16 / round_bf16 are ggml’s from_float (nearest even) on normals, subnormals, overflow', async () => {
    const a = await Arena.create();
    const rand = rng(9);
    const specials = [
      0,
      -0,
      65504,
      65519,
      65520,
      -70000,
      2 ** -14,
      2 ** -15 * 1.5,
      2 ** -25,
      2 ** -24 * 1.5,
      1e-30,
    ];
    const m = 4 * 300 + 3; // not a multiple of 4
    const x = Float32Array.from({ length: m }, (_, i) =>
      i < specials.length ? specials[i]! : (rand() - 0.5) * 2 ** (Math.floor(rand() * 40) - 24),
    );
    // exact ties between two halves / two bf16 values
    x[20] = f(1 + 2 ** -11);
    x[21] = f(1 + 3 * 2 ** -11);
    x[22] = f(1 + 2 ** -8);
    x[23] = f(1 + 3 * 2 ** -8);
    const px = a.put(x);
    const out = a.put(new Float32Array(m + 1).fill(7)); // the 7 past the end must stay
    a.k.round_f16(px, m, out);
    expect([...a.f32(out, m + 1)]).toEqual([...[...x].map(f16), 7]);
    a.k.round_bf16(px, m, out);
    expect([...a.f32(out, m + 1)]).toEqual([...[...x].map(bf16), 7]);
    a.k.round_f16(px, m, px); // in place
    expect([...a.f32(px, m)]).toEqual([...x].map(f16));
  });
});
