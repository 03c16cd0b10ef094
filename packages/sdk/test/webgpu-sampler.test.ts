import {
  bindGroup,
  PipelineCache,
  SAMPLE_STATE_WORDS,
  sampleProgram,
  sampleRef,
  sampleUniforms,
  UniformArena,
  writeSampleState,
} from '@edgelm/kernels';
import { describe, expect, it } from 'vitest';
import type { ResolvedSampling } from '../src/sampler/params.js';
import { uniform } from '../src/sampler/rng.js';
import { Sampler } from '../src/sampler/sample.js';
import { dawnDevice } from './helpers/webgpu.js';

// The GPU sampler must choose exactly the token the CPU `Sampler` chooses on the same logits
// and seed. Arithmetic differs (f32 exp and sums on the GPU, f64 on the CPU) only in the last
// bits, which changes a choice only when a draw or a top-p cut lands within ~1e-7 of a
// boundary: on these few hundred draws that is far below one in a thousand runs.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Case {
  logits: Float32Array;
  params: ResolvedSampling;
  counter: number;
  recent: number[];
}

function makeCases(vocab: number, n: number, seed: number): Case[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const out: Case[] = [];
  for (let c = 0; c < n; c++) {
    const scale = pick([0.5, 2, 6]);
    const ties = r() < 0.3; // coarse logits: many exact probability ties, ordered by index
    const logits = new Float32Array(vocab);
    for (let i = 0; i < vocab; i++) {
      const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
      logits[i] = ties ? Math.round(g * 2) / 2 : g * scale;
    }
    const recent = Array.from({ length: Math.floor(r() * 80) }, () => Math.floor(r() * Math.min(vocab, 40)));
    out.push({
      logits,
      params: {
        temperature: pick([0, 0.3, 0.8, 0.8, 1.5]),
        topK: pick([0, 0, 1, 5, 40, 600]),
        topP: pick([1, 1, 0.9, 0.5, 0.99]),
        minP: pick([0, 0, 0.05]),
        repetitionPenalty: pick([1, 1.1, 1.5]),
        repetitionWindow: pick([0, 8, 64]),
        seed: Math.floor(r() * 2 ** 32) >>> 0,
      },
      counter: Math.floor(r() * 5000),
      recent,
    });
  }
  return out;
}

const REC = 128;

async function gpuSample(cases: Case[], cap: number, wg: number, ranked = 1): Promise<number[]> {
  const device = await dawnDevice();
  const cache = new PipelineCache(device);
  const program = await cache.prepare(sampleProgram({ wg, cap, ranked }));
  const vocab = cases[0]!.logits.length;
  const n = cases.length;
  const logits = new Float32Array(n * vocab);
  const state = new Uint32Array(n * SAMPLE_STATE_WORDS);
  const rec = new Uint32Array(n * REC);
  cases.forEach((c, s) => {
    logits.set(c.logits, s * vocab);
    const tail = c.recent.slice(Math.max(0, c.recent.length - REC));
    rec.set(tail, s * REC);
    const p = c.params;
    writeSampleState(state, s, {
      temperature: p.temperature,
      topK: p.topK,
      topP: p.topP,
      minP: p.minP,
      penalty: p.repetitionPenalty,
      window: p.repetitionWindow,
      seed: p.seed,
      counter: c.counter,
      recent: tail.length,
    });
  });
  const buf = (data: ArrayBufferView) => {
    const b = device.createBuffer({
      size: Math.max(16, data.byteLength),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(b, 0, data as unknown as ArrayBuffer);
    return b;
  };
  const arena = new UniformArena(device, 1);
  const u = arena.alloc(sampleUniforms).setAll({ vocab, recStride: REC, bins: 256, maxSteps: 1, advance: 0 });
  arena.flush();
  const out = buf(new Uint32Array(n));
  const group = bindGroup(device, program, {
    LOGITS: buf(logits),
    SS: buf(state),
    REC: buf(rec),
    OUT: out,
    META: buf(new Uint32Array(n * 4)),
    STEPS: buf(new Uint32Array(n)),
    P: arena.binding(u),
  });
  const read = device.createBuffer({
    size: Math.max(16, n * 4),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(program.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(n);
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = Array.from(new Uint32Array(read.getMappedRange(0, n * 4)));
  read.unmap();
  return got;
}

function cpuSample(cases: Case[]): number[] {
  const sampler = new Sampler();
  return cases.map((c) => sampler.sample(c.logits.slice(), c.params, c.counter, c.recent));
}

describe('GPU sampler equals the CPU Sampler', () => {
  it('the kernels reference is the Sampler', () => {
    const cases = makeCases(300, 200, 7);
    expect(cases.map((c) => sampleRef(c.logits.slice(), c.params, c.counter, c.recent))).toEqual(
      cpuSample(cases),
    );
  });

  it.each([
    { vocab: 7, cap: 512, wg: 8 },
    { vocab: 512, cap: 512, wg: 128 },
    { vocab: 1500, cap: 512, wg: 128 },
    // Narrow workgroups (CPU-like adapters) find the cut and the draw of large kept sets by
    // mass-radix selects.
    { vocab: 512, cap: 256, wg: 8 },
    { vocab: 3000, cap: 256, wg: 4 },
    // A small block forces multi-block walks (top-p and the draw crossing block boundaries).
    { vocab: 600, cap: 16, wg: 64 },
  ])('vocab $vocab, block $cap, wg $wg', async ({ vocab, cap, wg }) => {
    const cases = makeCases(vocab, 96, vocab * 31 + cap);
    const want = cpuSample(cases);
    const got = await gpuSample(cases, cap, wg);
    expect(got).toEqual(want);
  });
});

describe('the draw without top-k or top-p walks the vocabulary in order (llama.cpp dist)', () => {
  // Probabilities 0.1, 0.6, 0.3: u < 0.1 picks token 0 in vocabulary order, where the walk by
  // rank would pick token 1.
  const logits = Float32Array.from([Math.log(0.1), Math.log(0.6), Math.log(0.3)]);
  const params: ResolvedSampling = {
    temperature: 1,
    topK: 0,
    topP: 1,
    minP: 0,
    repetitionPenalty: 1,
    repetitionWindow: 64,
    seed: 5,
  };
  const expected = (counter: number) => {
    const u = uniform(params.seed, counter);
    return u < 0.1 ? 0 : u < 0.7 ? 1 : 2;
  };

  it('on the CPU', () => {
    const sampler = new Sampler();
    const counters = Array.from({ length: 200 }, (_, i) => i);
    expect(counters.some((c) => uniform(params.seed, c) < 0.1)).toBe(true);
    for (const c of counters) expect(sampler.sample(logits.slice(), params, c)).toBe(expected(c));
  });

  it.each([
    { wg: 4, cap: 256, ranked: 0, pipeline: 'plain' },
    { wg: 256, cap: 512, ranked: 1, pipeline: 'ranked' },
  ])(
    'on the GPU over a 40,000-token vocabulary in chunks, wg $wg, the $pipeline pipeline',
    async ({ wg, cap, ranked }) => {
      // Several chunks per invocation and chunks longer than the minimum (40,000 / 256 per chunk),
      // flat and peaked distributions, with and without min-p.
      const cases = makeCases(40_000, 24, 99).map((c, i) => ({
        ...c,
        params: { ...c.params, temperature: 0.8, topK: 0, topP: 1, minP: i % 3 === 0 ? 0.05 : 0 },
      }));
      expect(await gpuSample(cases, cap, wg, ranked)).toEqual(cpuSample(cases));
    },
  );
});
