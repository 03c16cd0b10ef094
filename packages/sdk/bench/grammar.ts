// Constrained decoding: the per-token cost of grammar masks on a 151k vocabulary (Qwen3's), and
// decode tokens/s with and without a JSON Schema on the CPU and WebGPU backends, in one run.
// Run: node --conditions=source --import tsx packages/sdk/bench/grammar.ts
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import type { GenerateOptions } from '../src/api/types.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { GgufMetadata } from '../src/formats/gguf/metadata.js';
import { readGgufHeader } from '../src/formats/gguf/reader.js';
import { ggufTokenizer } from '../src/formats/gguf/tokenizer.js';
import { GrammarRegistry } from '../src/grammar/registry.js';
import { maskHas } from '../src/grammar/token-mask.js';
import type { ModelFile } from '../src/model/model-file.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { loadStories260K } from './models.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TOKENS = 48;

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 16 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 },
    email: { type: 'string', format: 'email' },
  },
  required: ['name', 'age', 'tags'],
};

async function qwen3(): Promise<Tokenizer> {
  const dir = process.env.EDGELM_MODELS_DIR ?? '../shared/models';
  const bytes = new Uint8Array(await readFile(join(dir, '..', 'tokenizers', 'tok-qwen3.gguf')));
  const header = await readGgufHeader(bytesSource(bytes, 'tok-qwen3.gguf'));
  return new Tokenizer(ggufTokenizer(new GgufMetadata(header.metadata)));
}

/** Mask cost per token over random walks through the grammar (uniform over allowed tokens). */
function maskCosts(tok: Tokenizer, reg: GrammarRegistry, spec: Parameters<GrammarRegistry['constraint']>[0]) {
  const perToken: number[] = [];
  const cold: number[] = [];
  let seed = 1;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let run = 0; run < 20; run++) {
    const c = reg.constraint(spec);
    for (let i = 0; i < TOKENS; i++) {
      const walks = c.masker.walks;
      const t0 = performance.now();
      const m = c.mask(TOKENS - i);
      const dt = performance.now() - t0;
      (c.masker.walks > walks ? cold : perToken).push(dt);
      const allowed: number[] = [];
      for (let w = 0; w < m.length; w++)
        if (m[w] !== 0) for (let b = 0; b < 32; b++) if (maskHas(m, w * 32 + b)) allowed.push(w * 32 + b);
      const t = allowed[Math.floor(rand() * allowed.length)]!;
      if (tok.isEndOfGeneration(t)) break;
      c.accept(t);
      for (const f of c.forcedTokens()) c.accept(f);
    }
  }
  return { perToken, cold, all: [...perToken, ...cold] };
}

async function decodeRate(engine: LocalEngine, opts: GenerateOptions): Promise<number[]> {
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await engine.generate('Once upon a time', { maxTokens: TOKENS, cache: false, ...opts }).result;
    rates.push(r.usage.completionTokens / (r.timings.totalMs / 1000));
  }
  return rates;
}

export async function runGrammarBench(): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const tok = await qwen3();
  const reg = new GrammarRegistry(tok);
  const t0 = performance.now();
  const nodes = reg.trie.nodeCount;
  figures.push(
    summarize(`vocabulary trie build (151,643 tokens, ${nodes} nodes)`, 'ms', [performance.now() - t0]),
  );
  for (const [label, spec] of [
    ['json_schema', { type: 'json_schema' as const, schema: SCHEMA }],
    ['free JSON', { type: 'json' as const }],
  ] as const) {
    const c = maskCosts(tok, reg, spec);
    figures.push(summarize(`mask per token, ${label}, 151k vocab (all tokens)`, 'ms', c.all));
    const mean = c.all.reduce((a, b) => a + b, 0) / c.all.length;
    figures.push(summarize(`mask per token, ${label}, 151k vocab (mean, misses included)`, 'ms', [mean]));
    figures.push(summarize(`mask per token, ${label}, 151k vocab (cache hits)`, 'ms', c.perToken));
    figures.push(summarize(`mask per token, ${label}, 151k vocab (cache misses: trie sweep)`, 'ms', c.cold));
    figures.push(summarize(`mask cache miss rate, ${label}`, '%', [(100 * c.cold.length) / c.all.length]));
  }

  const model: ModelFile = await loadStories260K();
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  const engines: [string, LocalEngine][] = [
    [
      'cpu',
      new LocalEngine(model, await createCpuBackend(model, { pageCount: 64 }), { responseCache: false }),
    ],
  ];
  if (adapter) {
    const device = await adapter.requestDevice();
    engines.push([
      'webgpu',
      new LocalEngine(model, await createWebGpuBackend(model, { device, pageCount: 64 }), {
        responseCache: false,
      }),
    ]);
  }
  for (const [name, engine] of engines) {
    await decodeRate(engine, { maxTokens: 4 }); // warm-up: pipelines, trie
    await decodeRate(engine, { jsonSchema: SCHEMA, maxTokens: 4 });
    const free = summarize(
      `decode ${name}, stories260K, unconstrained`,
      'tok/s',
      await decodeRate(engine, {}),
    );
    const constrained = summarize(
      `decode ${name}, stories260K, JSON Schema`,
      'tok/s',
      await decodeRate(engine, { jsonSchema: SCHEMA }),
      free.median,
    );
    figures.push(free, constrained);
    await engine.unload();
  }
  console.log(`load average during the run: ${loadavg()[0]!.toFixed(1)}`);
  writeBench('grammar', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runGrammarBench();
