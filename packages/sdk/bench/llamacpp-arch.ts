// The CPU reference against llama.cpp (wllama in headless Chromium) on each architecture sample,
// with the e2e page (e2e/harness/llamacpp-arch.ts): greedy agreement and the largest
// log-probability difference per architecture, written to bench-results/llamacpp-arch.json.
//
//   node --conditions=source --import tsx packages/sdk/bench/llamacpp-arch.ts   (ARCHS=a,b)

import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../e2e/lib/chromium.js';
import { buildHarness } from '../../../e2e/server/harness-build.js';
import { startTestServer } from '../../../e2e/server/test-server.js';
import { ARCH_SAMPLES, type ArchSampleName } from '../src/synth/arch-gguf.js';
import type { LlamaCppArchResult } from './browser/llamacpp-arch.js';
import { type BenchFigure, writeBench } from './report.js';

const DECODE = 24;
const names = (process.env.ARCHS?.split(',') ?? Object.keys(ARCH_SAMPLES)) as ArchSampleName[];
const server = await startTestServer({ port: 0, files: await buildHarness() });
const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_ARGS });
const figures: BenchFigure[] = [];
const one = (name: string, unit: string, v: number): BenchFigure => ({
  name,
  unit,
  median: v,
  min: v,
  max: v,
  runs: 1,
});
try {
  for (const name of names) {
    const tab = await browser.newPage();
    try {
      await tab.goto(`${server.url}/harness/llamacpp-arch.html`);
      await tab.waitForFunction(() => typeof window.llamacppArch === 'function');
      const r: LlamaCppArchResult = await tab.evaluate(([n, d]) => window.llamacppArch(n, d), [
        name,
        DECODE,
      ] as const);
      console.log(
        `${name.padEnd(8)} greedy ${r.sameTokens}/${r.positions} same as llama.cpp, max |Δ logprob| ${r.maxLogprobDiff.toExponential(2)}`,
      );
      figures.push(
        one(`${name} greedy agreement`, 'fraction', r.sameTokens / r.positions),
        one(`${name} max |Δ logprob|`, 'nats', r.maxLogprobDiff),
      );
    } finally {
      await tab.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
writeBench('llamacpp-arch', figures);
