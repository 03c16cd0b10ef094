import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import type { ModelFile } from '../src/model/model-file.js';
import { openStories260K } from './helpers/models.js';
import { dawnDevice } from './helpers/webgpu.js';

// High temperature and no truncation: 24 draws from stories260K's flat distribution, so two
// different seeds giving the same 24 tokens is astronomically unlikely, not a flake.
const SAMPLED = { temperature: 1.5, maxTokens: 24 } as const;
const PROMPT = 'Once upon a time';

let model: ModelFile;
const engines: LocalEngine[] = [];

beforeAll(async () => {
  model = await openStories260K();
});
afterAll(async () => {
  for (const e of engines) await e.unload();
});

const backends: [string, () => Promise<Backend>][] = [
  // Float arithmetic on both: their logits then agree to ~1e-5. With llama.cpp's f16 rounding
  // (each backend's default) they agree only to ~1e-2, as an f16 rounding amplifies a last-bit
  // difference a thousandfold, and a flat distribution's draw can fall between them.
  ['cpu', () => createCpuBackend(model, { pageSize: 16, pageCount: 64, kvCache: 'f32' })],
  [
    'webgpu',
    async () =>
      createWebGpuBackend(model, {
        device: await dawnDevice(),
        pageSize: 16,
        pageCount: 64,
        kvCache: 'f32',
        activations: 'f32',
      }),
  ],
];

async function tokensOf(e: LocalEngine, seed?: number): Promise<number[]> {
  return (await e.generate(PROMPT, { ...SAMPLED, seed }).result).tokens;
}

describe.each(backends)('sampling seeds on %s', (_name, make) => {
  let engine: LocalEngine;
  beforeAll(async () => {
    // No response cache: every run must really sample.
    engine = new LocalEngine(model, await make(), { responseCache: false });
    engines.push(engine);
  });

  it('two unseeded sampled runs differ', async () => {
    const a = await tokensOf(engine);
    const b = await tokensOf(engine);
    expect(a).toHaveLength(SAMPLED.maxTokens);
    expect(a).not.toEqual(b);
  });

  it('three runs with one seed are identical', async () => {
    const runs = [await tokensOf(engine, 42), await tokensOf(engine, 42), await tokensOf(engine, 42)];
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

it('a seed gives the same tokens on CPU and WebGPU', async () => {
  const [cpu, gpu] = await Promise.all(
    backends.map(async ([, make]) => {
      const e = new LocalEngine(model, await make(), { responseCache: false });
      engines.push(e);
      return e;
    }),
  );
  expect(await tokensOf(gpu!, 7)).toEqual(await tokensOf(cpu!, 7));
});
