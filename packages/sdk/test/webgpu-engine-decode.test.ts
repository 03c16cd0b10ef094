import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import type { ModelFile } from '../src/model/model-file.js';
import { openStories260K } from './helpers/models.js';
import { dawnDevice } from './helpers/webgpu.js';

// The scheduler's multi-step decode (several tokens per backend call, accepted one by one) must
// produce what one token per step produces: same tokens, same text, same finish, and a prefix
// cache that holds only computed tokens.
const SAMPLED = { temperature: 0.8, topP: 0.9, topK: 40, repetitionPenalty: 1.1 } as const;

let model: ModelFile;
let gpu: Backend;
let gpuSingle: Backend;
let multi: LocalEngine; // WebGPU with decode()
let single: LocalEngine; // the same backend seen without decode(): one token per step
let decodeCalls = 0;

/** The backend without its multi-step method, so the scheduler runs one step per token. */
function withoutDecode(b: Backend): Backend {
  return {
    name: b.name,
    config: b.config,
    pageSize: b.pageSize,
    pageCount: b.pageCount,
    pageBytes: b.pageBytes,
    forward: (s) => b.forward(s),
    forwardSample: (s, p) => b.forwardSample!(s, p),
    dispose: () => undefined,
  };
}

beforeAll(async () => {
  model = await openStories260K();
  // Two backends: engines sharing one would overwrite each other's cached KV pages.
  const device = await dawnDevice();
  gpu = await createWebGpuBackend(model, { device, pageSize: 16, pageCount: 128 });
  gpuSingle = await createWebGpuBackend(model, { device, pageSize: 16, pageCount: 128 });
  const decode = gpu.decode!.bind(gpu);
  gpu.decode = (s, p, n) => {
    decodeCalls++;
    return decode(s, p, n);
  };
  // No time budget: a loaded machine's slow steps must not turn multi-step decoding off here.
  multi = new LocalEngine(model, gpu, { responseCache: false, decodeBudgetMs: Number.POSITIVE_INFINITY });
  single = new LocalEngine(model, withoutDecode(gpuSingle), { responseCache: false });
});
afterAll(async () => {
  await single?.unload();
  await multi?.unload();
  gpuSingle?.dispose();
});

async function run(e: LocalEngine, prompt: string, opts: Record<string, unknown>) {
  const s = e.generate(prompt, opts);
  let streamed = '';
  for await (const c of s) streamed += c.text;
  const r = await s.result;
  expect(streamed).toBe(r.text);
  return { tokens: r.tokens, text: r.text, finish: r.finishReason };
}

describe('multi-step decode in the scheduler', () => {
  it.each([
    ['greedy', {}],
    ['seeded sampled', { ...SAMPLED, seed: 11 }],
  ] as const)('%s: one and three concurrent requests equal one token per step', async (_n, params) => {
    const prompts = ['Once upon a time', 'The cat', 'Lily and Ben went'];
    for (const group of [prompts.slice(0, 1), prompts]) {
      const opts = { maxTokens: 37, ...params };
      const want = [];
      for (const p of group) want.push(await run(single, p, opts));
      const before = decodeCalls;
      const got = await Promise.all(group.map((p) => run(multi, p, opts)));
      expect(got).toEqual(want);
      expect(decodeCalls).toBeGreaterThan(before);
    }
  });

  it('a stop string inside a batch ends at the right token, and the prefix cache stays right', async () => {
    const want = await run(single, 'Once upon a time', { maxTokens: 100, stop: ['Lily'] });
    expect(want.text).toBe(', there was a little girl named ');
    expect(await run(multi, 'Once upon a time', { maxTokens: 100, stop: ['Lily'] })).toEqual(want);
    // The next request shares the first one's pages through the prefix cache.
    const follow = `Once upon a time${want.text}Lily. She`;
    expect(await run(multi, follow, { maxTokens: 40 })).toEqual(await run(single, follow, { maxTokens: 40 }));
  });

  it('a seeded sampled run gives the same tokens on the CPU and the WebGPU backend', async () => {
    const cpu = new LocalEngine(model, await createCpuBackend(model, { pageSize: 16, pageCount: 64 }), {
      responseCache: false,
    });
    const opts = { maxTokens: 48, ...SAMPLED, seed: 5 };
    const want = await run(cpu, 'Once upon a time', opts);
    await cpu.unload();
    expect(await run(multi, 'Once upon a time', opts)).toEqual(want);
  });

  // stories260K never ends a story within its context, so a token it does generate is made an
  // end-of-generation token (as a model's end-of-turn token is), in a view of the model.
  it('EOS inside a batch ends the request at that token', async () => {
    const free = await run(single, 'Once upon a time', { maxTokens: 40 });
    const eog = free.tokens[21]!;
    const at = free.tokens.indexOf(eog);
    const view = Object.assign(Object.create(model) as ModelFile, {
      tokenizer: { ...model.tokenizer, eogIds: [eog] },
    });
    const engines = [
      new LocalEngine(view, gpu, { decodeBudgetMs: Number.POSITIVE_INFINITY }),
      new LocalEngine(view, withoutDecode(gpuSingle)),
    ];
    const [got, want] = await Promise.all(engines.map((e) => run(e, 'Once upon a time', { maxTokens: 40 })));
    expect(want!.finish).toBe('stop');
    expect(want!.tokens).toEqual(free.tokens.slice(0, at));
    expect(got).toEqual(want);
  });
});
