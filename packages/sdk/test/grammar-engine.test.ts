import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateOptions } from '../src/api/types.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import type { ModelFile } from '../src/model/model-file.js';
import { randomGrammarModel } from './grammar/random-model.js';
import { GBNFS, REGEXES, SCHEMAS } from './grammar/schemas.js';
import { openStories260K } from './helpers/models.js';
import { dawnDevice } from './helpers/webgpu.js';

const RUNS = 100;
const MAX_TOKENS = 48;

const randomModel = (): ModelFile => randomGrammarModel(7);

const ajv = new Ajv2020({ strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);

async function cpuEngine(model: ModelFile): Promise<LocalEngine> {
  return new LocalEngine(model, await createCpuBackend(model, { pageSize: 16, pageCount: 512 }), {
    responseCache: false,
    maxBatch: RUNS,
  });
}

/** `RUNS` sampled generations (seeds 0..RUNS-1), run as one batch. */
async function sampled(e: LocalEngine, prompt: string, opts: GenerateOptions): Promise<string[]> {
  const runs = Array.from(
    { length: RUNS },
    (_, seed) => e.generate(prompt, { maxTokens: MAX_TOKENS, temperature: 1, seed, ...opts }).result,
  );
  return (await Promise.all(runs)).map((r) => r.text);
}

function parses(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${JSON.stringify(text)}`);
  }
}

for (const [label, load] of [
  ['a random-weight model', async () => randomModel()],
  ['stories260K', openStories260K],
] as const) {
  describe(`constrained sampling with ${label}`, () => {
    let engine: LocalEngine;
    beforeAll(async () => {
      engine = await cpuEngine(await load());
    });
    afterAll(() => engine.unload());

    it.each(SCHEMAS)('100 generations under "$name" parse and validate', async ({ schema }) => {
      const validate = ajv.compile(schema as object);
      for (const text of await sampled(engine, 'Once upon a time', { jsonSchema: schema })) {
        const value = parses(text);
        if (!validate(value)) throw new Error(`${text}: ${ajv.errorsText(validate.errors)}`);
      }
    });

    it.each(REGEXES)('100 generations under /%s/ match it', async (pattern) => {
      const re = new RegExp(`^(?:${pattern})$`, 'u');
      for (const text of await sampled(engine, 'Once upon a time', { grammar: { type: 'regex', pattern } }))
        expect(text).toMatch(re);
    });

    it.each(GBNFS)('100 generations under GBNF match $check', async ({ grammar, check }) => {
      for (const text of await sampled(engine, 'Once upon a time', { grammar })) expect(text).toMatch(check);
    });
  });
}

describe('greedy constrained output', () => {
  it('is identical on the CPU and WebGPU backends', async () => {
    const model = await openStories260K();
    const cpu = await cpuEngine(model);
    const gpu = new LocalEngine(
      model,
      await createWebGpuBackend(model, { device: await dawnDevice(), pageCount: 64 }),
      {
        responseCache: false,
      },
    );
    for (const { schema } of [SCHEMAS[0]!, SCHEMAS[2]!, SCHEMAS[6]!]) {
      // maxTokens covers each schema's shortest valid output in bytes (41 for the nested $ref one),
      // the bound under which the grammar guarantees to close in time
      const opts = { jsonSchema: schema, maxTokens: 64 };
      const a = await cpu.generate('Once upon a time', opts).result;
      const b = await gpu.generate('Once upon a time', opts).result;
      expect(b.tokens).toEqual(a.tokens);
      expect(ajv.validate(schema as object, JSON.parse(a.text))).toBe(true);
    }
    await cpu.unload();
    await gpu.unload();
  });
});
