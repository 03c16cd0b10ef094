// The CPU reference against llama.cpp (wllama in headless Chromium) on each architecture sample:
// the same greedy tokens, and per position the log-probabilities of llama.cpp's top pieces.
// Writes bench-results/llamacpp-arch.json.
//
//   node --conditions=source --import tsx packages/sdk/bench/llamacpp-arch.ts

import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../e2e/lib/chromium.js';
import { buildHarness } from '../../../e2e/server/harness-build.js';
import { startTestServer } from '../../../e2e/server/test-server.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { openModel } from '../src/formats/open-model.js';
import { ReferenceModel } from '../src/reference/forward.js';
import {
  ARCH_SAMPLES,
  type ArchSampleName,
  archSampleGguf,
  sampleTokenOfByte,
} from '../src/synth/arch-gguf.js';
import type { LlamaCppRun } from './browser/llamacpp-arch-page/llamacpp-arch.js';
import { writeBench } from './report.js';

const PROMPT = 'Thecatsat.Hello,World!Onceatime';
const DECODE = 24;
/** </s>, <|end|>, <|endoftext|> in the sample vocabulary. */
const EOG = new Set([2, 8, 9]);

interface ArchResult {
  name: string;
  positions: number;
  sameTokens: number;
  /** Largest |logprob difference| over llama.cpp's top pieces, every position. */
  maxLogprobDiff: number;
  firstMismatch: number | null;
}

async function compare(name: ArchSampleName, run: LlamaCppRun, bytes: Uint8Array): Promise<ArchResult> {
  const model = await openModel(bytesSource(bytes, `${name}.gguf`));
  const ids = [1, ...[...PROMPT].map((ch) => sampleTokenOfByte(ch.charCodeAt(0)))];
  const ref = await ReferenceModel.load(model, 128);
  let logits: Float32Array = new Float32Array(0);
  ids.forEach((t, i) => {
    logits = ref.forward(t, i);
  });
  let same = 0;
  let maxDiff = 0;
  let firstMismatch: number | null = null;
  for (let i = 0; i < run.steps.length; i++) {
    const step = run.steps[i]!;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const logZ = max + Math.log(sum);
    for (const [id, lp] of step.top) maxDiff = Math.max(maxDiff, Math.abs(logits[id]! - logZ - lp));
    // ignore_eos makes llama.cpp bias its end-of-generation tokens to -inf: skip them here too.
    let best = 3;
    for (let v = 3; v < logits.length; v++) if (!EOG.has(v) && logits[v]! > logits[best]!) best = v;
    if (best === step.id) same++;
    else firstMismatch ??= i;
    // Continue from llama.cpp's token, so one near-tie does not derail the rest.
    logits = ref.forward(step.id, ids.length + i);
  }
  return { name, positions: run.steps.length, sameTokens: same, maxLogprobDiff: maxDiff, firstMismatch };
}

const files = await buildHarness(join(import.meta.dirname, 'browser/llamacpp-arch-page'));
const samples = new Map<ArchSampleName, Uint8Array>();
for (const name of (process.env.ARCHS?.split(',') ?? Object.keys(ARCH_SAMPLES)) as ArchSampleName[]) {
  const bytes = await archSampleGguf(name);
  samples.set(name, bytes);
  files.set(`/harness/data/${name}.gguf`, bytes);
}
const server = await startTestServer({ port: 0, files });
const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_ARGS });
const results: ArchResult[] = [];
try {
  for (const [name, bytes] of samples) {
    const tab = await browser.newPage();
    try {
      if (process.env.DEBUG_LOG) tab.on('console', (m) => console.log('  page:', m.text().slice(0, 300)));
      await tab.goto(`${server.url}/harness/llamacpp-arch.html`);
      await tab.waitForFunction(() => typeof window.llamacppRun === 'function');
      const run = await tab.evaluate(([m, p, n]) => window.llamacppRun(m, p, n), [
        name,
        PROMPT,
        DECODE,
      ] as const);
      const r = await compare(name, run, bytes);
      results.push(r);
      console.log(
        `${name.padEnd(8)} greedy ${r.sameTokens}/${r.positions} same as llama.cpp, max |Δ logprob| ${r.maxLogprobDiff.toExponential(2)}${r.firstMismatch === null ? '' : `, first mismatch at ${r.firstMismatch}`}`,
      );
    } catch (e) {
      console.log(`${name.padEnd(8)} llama.cpp run failed: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      await tab.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
writeBench(
  'llamacpp-arch',
  results.flatMap((r) => [
    {
      name: `${r.name} greedy agreement`,
      unit: 'fraction',
      median: r.sameTokens / r.positions,
      min: r.sameTokens / r.positions,
      max: r.sameTokens / r.positions,
      runs: 1,
    },
    {
      name: `${r.name} max |Δ logprob|`,
      unit: 'nats',
      median: r.maxLogprobDiff,
      min: r.maxLogprobDiff,
      max: r.maxLogprobDiff,
      runs: 1,
    },
  ]),
);
