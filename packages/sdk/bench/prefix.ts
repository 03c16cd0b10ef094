// TTFT of a chat's next turn with a ~400-token history, with and without prefix KV reuse.
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import type { ModelFile } from '../src/model/model-file.js';
import { loadStories260K } from './models.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** A ~400-token conversation built from the model's own words, so it is in-distribution. */
async function history(engine: LocalEngine): Promise<string> {
  let text = 'Once upon a time, there was a little girl named Lily.';
  while ((await engine.tokenize(text)).length < 400) {
    const s = engine.generate(text, { maxTokens: 40 });
    for await (const _ of s) {
      // drain
    }
    text += `${(await s.result).text} `;
  }
  return text;
}

async function nextTurnTtft(model: ModelFile, reuse: boolean, base: string, turn: number): Promise<number> {
  const engine = new LocalEngine(model, await createCpuBackend(model, { pageCount: 128 }), {
    prefixCacheBytes: reuse ? undefined : 0,
  });
  // The previous turn: the history was read once (its KV is what reuse keeps).
  const first = engine.generate(base, { maxTokens: 1 });
  for await (const _ of first) {
    // drain
  }
  await first.result;
  const next = engine.generate(`${base} Then the dog said hello number ${turn}.`, { maxTokens: 1 });
  for await (const _ of next) {
    // drain
  }
  const r = await next.result;
  if (reuse && r.prefixTokensReused < 300) throw new Error(`expected reuse, got ${r.prefixTokensReused}`);
  await engine.unload();
  return r.timings.ttftMs;
}

export async function runPrefixBench(): Promise<BenchFigure[]> {
  const model = await loadStories260K();
  const base = await history(new LocalEngine(model, await createCpuBackend(model, { pageCount: 128 })));
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    cold.push(await nextTurnTtft(model, false, base, i));
    warm.push(await nextTurnTtft(model, true, base, i));
  }
  const without = summarize('next-turn TTFT without prefix reuse (cpu, ~400-token history)', 'ms', cold);
  const withReuse = summarize(
    'next-turn TTFT with prefix reuse (cpu, ~400-token history)',
    'ms',
    warm,
    without.median,
  );
  const speedup = summarize(
    'prefix reuse TTFT speedup',
    'x',
    cold.map((c, i) => c / warm[i]!),
  );
  const figures = [without, withReuse, speedup];
  writeBench('prefix-reuse', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runPrefixBench();
