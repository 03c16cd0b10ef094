import { describe, expect, it } from 'vitest';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { UniformArena } from '../src/gpu/uniforms.js';
import { elementGrid } from '../src/ops/add.js';
import { attentionMergeProgram, attentionMergeUniforms } from '../src/ops/attention.js';
import {
  attentionStepRef,
  flashPrefillBytes,
  flashPrefillGrid,
  flashPrefillProgram,
  flashPrefillUniforms,
  flashPrefillVariant,
  type StepToken,
} from '../src/ops/flash-prefill.js';
import { kvCacheOffset } from '../src/ops/rope-kv.js';
import { emptyBuffer, readF32, run, testGpu, upload } from './helpers/gpu.js';
import { maxAbsDiff, randomF32, rng } from './helpers/random.js';

// Outputs are convex mixes of values in [−1, 1]; f32 against f64 over ≤ 40 keys and 64 dims,
// with exp/tanh of f32 scores: 1e-5.
const TOL = 1e-5;

interface FlashCase {
  name: string;
  nHeads: number;
  nKv: number;
  headDim: number;
  tile: { tq: number; tk: number; wg: number };
  /** Per sequence: positions already cached, then tokens this step carries. */
  seqs: { cached: number; step: number }[];
  /** Step tokens grouped by sequence (as the backend lays them out) or dealt round-robin. */
  order: 'grouped' | 'interleaved';
  pageSize: number;
  /** Keys per split: one split (no merge) when ≥ every length. */
  chunk: number;
  scale?: number;
  window?: number;
  softcap?: number;
}

const cases: FlashCase[] = [
  {
    name: 'MHA hd 64, prompt of 37: last query tile 5 of 16, keys 2 tiles + 5',
    nHeads: 2,
    nKv: 2,
    headDim: 64,
    tile: { tq: 16, tk: 16, wg: 64 },
    seqs: [{ cached: 0, step: 37 }],
    order: 'grouped',
    pageSize: 8,
    chunk: 4096,
  },
  {
    name: 'GQA 4 hd 32, 19 tokens after 21 cached positions, 16-key splits merged',
    nHeads: 8,
    nKv: 2,
    headDim: 32,
    tile: { tq: 8, tk: 16, wg: 64 },
    seqs: [{ cached: 21, step: 19 }],
    order: 'grouped',
    pageSize: 4,
    chunk: 16,
  },
  {
    name: 'GQA 7 hd 12, two sequences (11 after 9 cached, 13 fresh), window 6, soft-cap 5, scale 0.3',
    nHeads: 7,
    nKv: 1,
    headDim: 12,
    tile: { tq: 4, tk: 8, wg: 32 },
    seqs: [
      { cached: 9, step: 11 },
      { cached: 0, step: 13 },
    ],
    order: 'grouped',
    pageSize: 4,
    chunk: 4096,
    scale: 0.3,
    window: 6,
    softcap: 5,
  },
  {
    name: 'GQA 4 hd 16, three sequences interleaved in each tile (a decode among prompts), split',
    nHeads: 4,
    nKv: 1,
    headDim: 16,
    tile: { tq: 8, tk: 4, wg: 64 },
    seqs: [
      { cached: 5, step: 9 },
      { cached: 17, step: 1 },
      { cached: 0, step: 6 },
    ],
    order: 'interleaved',
    pageSize: 4,
    chunk: 8,
  },
];

function stepTokens(c: FlashCase): StepToken[] {
  const per = c.seqs.map((s, seq) => Array.from({ length: s.step }, (_, j) => ({ seq, pos: s.cached + j })));
  if (c.order === 'grouped') return per.flat();
  const out: StepToken[] = [];
  for (let j = 0; out.length < per.flat().length; j++) for (const p of per) if (p[j]) out.push(p[j]!);
  return out;
}

describe('tiled flash-attention prefill', () => {
  it.each(cases)('$name', async (c) => {
    const { device, cache } = await testGpu();
    const { nHeads, nKv, headDim: hd, pageSize } = c;
    const stride = (nHeads + 2 * nKv) * hd;
    const lens = c.seqs.map((s) => s.cached + s.step);
    const maxLen = Math.max(...lens);
    const maxPages = Math.ceil(maxLen / pageSize);
    const pageCount = maxPages * c.seqs.length + 3;
    const r = rng(hd * 13 + maxLen);
    // Pages handed out shuffled, so a wrong page lookup cannot pass by accident.
    const free = Array.from({ length: pageCount }, (_, i) => i).sort(() => r() - 0.5);
    const pages = new Int32Array(c.seqs.length * maxPages).fill(-1);
    lens.forEach((len, i) => {
      for (let p = 0; p < Math.ceil(len / pageSize); p++) pages[i * maxPages + p] = free.pop()!;
    });
    // Keys and values of every position (cached and this step's) already in their pages.
    const K = lens.map((len, i) => randomF32(len * nKv * hd, 10 + i));
    const V = lens.map((len, i) => randomF32(len * nKv * hd, 20 + i));
    const kc = new Float32Array(pageCount * pageSize * nKv * hd).fill(Number.NaN);
    const vc = new Float32Array(kc.length).fill(Number.NaN);
    lens.forEach((len, i) => {
      for (let p = 0; p < len; p++)
        for (let g = 0; g < nKv; g++) {
          const o = kvCacheOffset(pages.subarray(i * maxPages), p, pageSize, nKv, hd, g);
          kc.set(K[i]!.subarray((p * nKv + g) * hd, (p * nKv + g + 1) * hd), o);
          vc.set(V[i]!.subarray((p * nKv + g) * hd, (p * nKv + g + 1) * hd), o);
        }
    });
    const toks = stepTokens(c);
    const T = toks.length;
    const qkv = randomF32(T * stride, 30);
    const q = new Float32Array(T * nHeads * hd);
    const meta = new Uint32Array(T * 4);
    toks.forEach((t, j) => {
      q.set(qkv.subarray(j * stride, j * stride + nHeads * hd), j * nHeads * hd);
      meta.set([3, t.pos, t.seq, 0], j * 4);
    });
    const f = { scale: c.scale ?? 1 / Math.sqrt(hd), window: c.window ?? 0, softcap: c.softcap ?? 0 };
    const want = attentionStepRef(toks, q, K, V, nHeads, nKv, hd, f);

    const nChunks = Math.ceil(maxLen / c.chunk);
    const out = emptyBuffer(device, T * nHeads * hd * 4);
    const part = emptyBuffer(device, T * nHeads * nChunks * (hd + 2) * 4);
    const v = flashPrefillVariant(c.tile, nHeads / nKv, hd, 16384)!;
    expect(v.tq).toBe(c.tile.tq);
    const prog = await cache.prepare(flashPrefillProgram(v));
    const merge = await cache.prepare(attentionMergeProgram({ wg: 64 }));
    const arena = new UniformArena(device, 4);
    const u = arena.alloc(flashPrefillUniforms).setAll({
      T,
      nHeads,
      nKv,
      headDim: hd,
      qkvStride: stride,
      pageSize,
      maxPages,
      nChunks,
      chunk: c.chunk,
      ...f,
    });
    const um = arena.alloc(attentionMergeUniforms).setAll({ T, nHeads, headDim: hd, nChunks });
    arena.flush();
    const d = new Dispatch(
      prog,
      bindGroup(device, prog, {
        QKV: upload(device, qkv),
        META: upload(device, meta),
        PAGES: upload(device, pages),
        KC: upload(device, kc),
        VC: upload(device, vc),
        OUT: out,
        PART: part,
        P: arena.binding(u),
      }),
    );
    const dm = new Dispatch(merge, bindGroup(device, merge, { PART: part, OUT: out, P: arena.binding(um) }));
    await run(device, (pass) => {
      d.encode(pass, ...flashPrefillGrid(v, T, nKv, nChunks));
      if (nChunks > 1) dm.encode(pass, ...elementGrid(T * nHeads * hd, 64));
    });
    const got = await readF32(device, out, T * nHeads * hd);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(TOL);
  });

  it('shrinks the query tile to the workgroup memory, or declines', () => {
    const tile = { tq: 16, tk: 16, wg: 128 };
    // Qwen2.5-0.5B: 7 heads per kv head of 64.
    const qwen = flashPrefillVariant(tile, 7, 64, 16384)!;
    expect(flashPrefillBytes(qwen)).toBeLessThanOrEqual(16384);
    expect(qwen.tq).toBeLessThan(16);
    expect(flashPrefillBytes({ ...qwen, tq: qwen.tq + 1 })).toBeGreaterThan(16384);
    expect(flashPrefillVariant(tile, 1, 64, 16384)!.tq).toBe(16);
    expect(flashPrefillVariant(tile, 16, 256, 16384)).toBeNull();
  });
});
