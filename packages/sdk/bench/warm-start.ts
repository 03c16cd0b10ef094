// Second visit vs first: load-to-first-token of stories260K in headless Chromium, the engine in
// its worker as an app runs it. Each run starts a browser on a fresh on-disk profile (cold: the
// weights are downloaded, every WGSL pipeline compiled), closes it, and starts it again on the
// same profile (warm: weights from IndexedDB, and whatever shader cache Chromium keeps on disk).
//
//   node --conditions=source --import tsx packages/sdk/bench/warm-start.ts   (BENCH_RUNS)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { FirstTokenTiming } from '../../../e2e/harness/warm-start.js';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../e2e/lib/chromium.js';
import { buildHarness } from '../../../e2e/server/harness-build.js';
import { startTestServer } from '../../../e2e/server/test-server.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function visit(profile: string, baseURL: string, backend: 'auto' | 'cpu'): Promise<FirstTokenTiming> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    args: CHROMIUM_ARGS,
    headless: true,
    baseURL,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => console.error(`[warm-start] ${e.message}`));
    await page.goto('/harness/warm-start.html');
    await page.waitForFunction(() => typeof window.warmStart === 'function');
    const t = await page.evaluate((b) => window.warmStart(b), backend);
    if (t.error) throw new Error(`${backend}: ${t.error}`);
    return t;
  } finally {
    await context.close();
  }
}

export async function runWarmStartBench(): Promise<BenchFigure[]> {
  const server = await startTestServer({ files: await buildHarness() });
  const figures: BenchFigure[] = [];
  try {
    for (const backend of ['auto', 'cpu'] as const) {
      const cold: FirstTokenTiming[] = [];
      const warm: FirstTokenTiming[] = [];
      for (let r = 0; r < RUNS; r++) {
        const profile = mkdtempSync(join(tmpdir(), 'edgelm-bench-warm-'));
        try {
          cold.push(await visit(profile, server.url, backend));
          warm.push(await visit(profile, server.url, backend));
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      }
      if (cold.some((t) => t.weightsCached) || !warm.every((t) => t.weightsCached))
        throw new Error('a cold visit found cached weights or a warm one did not');
      const on = `${cold[0]!.backend}, stories260K`;
      const coldFirst = summarize(
        `cold visit: load → first token (${on})`,
        'ms',
        cold.map((t) => t.firstTokenMs),
      );
      figures.push(
        summarize(
          `cold visit: load only (${on})`,
          'ms',
          cold.map((t) => t.loadMs),
        ),
        coldFirst,
        summarize(
          `warm visit: load only (${on})`,
          'ms',
          warm.map((t) => t.loadMs),
        ),
        summarize(
          `warm visit: load → first token (${on})`,
          'ms',
          warm.map((t) => t.firstTokenMs),
          coldFirst.median,
        ),
      );
    }
    writeBench('warm-start', figures);
    console.log('  (headless Chromium, SwiftShader WebGPU; warm ratio is warm / cold time to first token)');
    return figures;
  } finally {
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runWarmStartBench();
