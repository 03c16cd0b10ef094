// `pnpm bench`: every Node benchmark of the project, one after the other; each prints its table
// and writes bench-results/<name>.json. Browser benchmarks (compare) run through their own entry.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches: [string, string, string][] = [
  ['cpu', join(here, 'cpu.ts'), 'runCpuBench'],
  ['cpu-quant', join(here, 'cpu-quant.ts'), 'runCpuQuantBench'],
  ['prefix-reuse', join(here, 'prefix.ts'), 'runPrefixBench'],
  ['webgpu', join(here, 'webgpu.ts'), 'runWebGpuBench'],
  ['webgpu-quant', join(here, 'webgpu-quant.ts'), 'runWebGpuQuantBench'],
  ['gpu', join(here, 'gpu/main.ts'), 'runGpuBench'],
  ['fused-breakdown', join(here, 'fused-breakdown.ts'), 'runFusedBreakdownBench'],
  ['cache', join(here, 'cache.ts'), 'runCacheBench'],
  ['tokenize', join(here, 'tokenize.ts'), 'runTokenizeBench'],
  ['flash-prefill', join(here, 'flash-prefill.ts'), 'runFlashPrefillBench'],
  ['warm-start', join(here, 'warm-start.ts'), 'runWarmStartBench'],
  ['grammar', join(here, 'grammar.ts'), 'runGrammarBench'],
  ['quant', join(here, 'quant.ts'), 'runQuantBench'],
  ['compare', join(here, 'compare.ts'), 'runCompareBench'],
  ['h2h', join(here, 'h2h/h2h.ts'), 'runH2hBench'],
  ['server-load', join(here, '../../server/bench/load.ts'), 'runServerLoadBench'],
];

let failed = 0;
for (const [name, file, fn] of benches) {
  if (only.length && !only.includes(name)) continue;
  if (!existsSync(file)) continue;
  const mod = (await import(file)) as Record<string, unknown>;
  const run = mod[fn];
  if (typeof run !== 'function') continue;
  try {
    await (run as () => Promise<unknown>)();
  } catch (e) {
    failed++;
    console.error(`bench ${name} failed:`, e);
  }
}
process.exitCode = failed ? 1 : 0;
