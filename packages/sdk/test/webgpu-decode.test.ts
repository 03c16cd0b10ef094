import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRequest, SequenceStep } from '../src/backends/backend.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import type { WebGpuBackend } from '../src/backends/webgpu/webgpu-backend.js';
import { type ResolvedSampling, resolveSampling } from '../src/sampler/params.js';
import { Sampler } from '../src/sampler/sample.js';
import { openStories260K } from './helpers/models.js';
import { dawnDevice } from './helpers/webgpu.js';

// Multi-step decode (tokens stay on the GPU between steps) must give exactly the tokens of
// chained single steps, greedy and seeded-sampled, for one and for several sequences.
const N = 12;
const PAGES = 8; // 128 positions per sequence at 16 tokens a page
const PROMPTS = [
  [1, 403, 407, 261, 378],
  [1, 65, 300, 42],
  [1, 7, 8, 9, 10, 11, 12],
];
const SAMPLED = resolveSampling({ temperature: 0.8, topP: 0.9, topK: 40, repetitionPenalty: 1.1, seed: 7 });
const GREEDY = resolveSampling({ seed: 1 });

let backend: WebGpuBackend;
/** Load progress events, and how many came after 'ready'. */
const progress = { phases: [] as string[], afterReady: 0 };
beforeAll(async () => {
  const model = await openStories260K();
  backend = await createWebGpuBackend(model, {
    device: await dawnDevice(),
    pageSize: 16,
    pageCount: 64,
    onProgress: (p) => {
      if (progress.phases.includes('ready')) progress.afterReady++;
      progress.phases.push(p.phase);
    },
  });
});
afterAll(() => backend?.dispose());

const pagesOf = (i: number) => Int32Array.from({ length: PAGES }, (_, p) => i * PAGES + p);

/** Prefills each prompt but its last token; returns the decode steps and sampling requests. */
async function prime(nSeq: number, params: ResolvedSampling): Promise<[SequenceStep[], SampleRequest[]]> {
  const prompts = PROMPTS.slice(0, nSeq);
  await backend.forward(prompts.map((p, i) => ({ tokens: p.slice(0, -1), startPos: 0, pages: pagesOf(i) })));
  return [
    prompts.map((p, i) => ({ tokens: [p[p.length - 1]!], startPos: p.length - 1, pages: pagesOf(i) })),
    prompts.map((p, i) => ({
      params: { ...params, seed: params.seed + i },
      counter: p.length,
      recent: p,
    })),
  ];
}

async function singleSteps(nSeq: number, params: ResolvedSampling): Promise<number[][]> {
  let [steps, sampling] = await prime(nSeq, params);
  const out: number[][] = steps.map(() => []);
  for (let k = 0; k < N; k++) {
    const next = await backend.forwardSample(steps, sampling);
    steps = steps.map((s, i) => ({ tokens: [next[i]!], startPos: s.startPos + 1, pages: s.pages }));
    sampling = sampling.map((s, i) => ({
      ...s,
      counter: s.counter + 1,
      recent: [...Array.from(s.recent!), next[i]!],
    }));
    next.forEach((t, i) => {
      out[i]!.push(t);
    });
  }
  return out;
}

async function multiStep(nSeq: number, params: ResolvedSampling, n = N): Promise<number[][]> {
  const [steps, sampling] = await prime(nSeq, params);
  const flat = await backend.decode(steps, sampling, n);
  return steps.map((_, i) => Array.from(flat.subarray(i * n, (i + 1) * n)));
}

describe('multi-step WebGPU decode', () => {
  it.each([
    ['greedy', 1, GREEDY],
    ['greedy', 3, GREEDY],
    ['sampled', 1, SAMPLED],
    ['sampled', 3, SAMPLED],
  ] as const)('%s, %i sequence(s): the tokens of single steps', async (_n, nSeq, params) => {
    const want = await singleSteps(nSeq, params);
    const got = await multiStep(nSeq, params);
    expect(got).toEqual(want);
    expect(backend.stats.submits).toBe(1);
  });

  it('more steps than one submission holds continue where the last one stopped', async () => {
    const want = await multiStep(3, SAMPLED, 20);
    const [steps, sampling] = await prime(3, SAMPLED);
    const first = await backend.decode(steps, sampling, 16);
    expect(Array.from(first.subarray(0, 16))).toEqual(want[0]!.slice(0, 16));
  });

  it('the GPU sampler chooses what the CPU sampler chooses on the same logits', async () => {
    const [steps, sampling] = await prime(3, SAMPLED);
    const logits = await backend.forward(steps);
    const sampler = new Sampler();
    const want = sampling.map((s, i) => sampler.sample(logits[i]!, s.params, s.counter, s.recent));
    await prime(3, SAMPLED);
    expect(Array.from(await backend.forwardSample(steps, sampling))).toEqual(want);
  });
});

describe('load progress', () => {
  it("ends at 'ready': the sampler compiled on first use reports nothing (an app would show loading again)", async () => {
    const [steps, sampling] = await prime(1, SAMPLED);
    await backend.decode(steps, sampling, 2);
    expect(progress.phases.at(-1)).toBe('ready');
    expect(progress.phases).toContain('compile');
    expect(progress.afterReady).toBe(0);
  });
});
