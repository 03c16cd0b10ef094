// Weight cache and response cache, measured in headless Chromium (real IndexedDB on an on-disk
// profile) against the loopback test server:
// - cold load of a synthetic 100 MiB file (Range download, SHA-256, store, read back) vs warm
//   load from IndexedDB (read, SHA-256), in MB/s; a plain fetch of the same file for reference;
// - response-cache hit (IndexedDB read + replay) vs generating the same greedy answer.
//
//   node --import tsx packages/sdk/bench/cache.ts      (BENCH_RUNS, BENCH_CACHE_MIB)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../e2e/lib/chromium.js';
import { buildHarness } from '../../../e2e/server/harness-build.js';
import { startTestServer } from '../../../e2e/server/test-server.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MIB = Number(process.env.BENCH_CACHE_MIB ?? 100);

export async function runCacheBench(): Promise<BenchFigure[]> {
  const server = await startTestServer({ files: await buildHarness() });
  const profile = mkdtempSync(join(tmpdir(), 'edgelm-bench-cache-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    args: CHROMIUM_ARGS,
    headless: true,
    baseURL: server.url,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => console.error(`[cache-bench] ${e.message}`));
    await page.goto('/harness/cache-bench.html');
    const size = MIB * 1024 * 1024;
    const path = `/synthetic/bench.bin?size=${size}`;
    const mbps = (ms: number[]) => ms.map((t) => size / 1e6 / (t / 1000));

    const plain = await page.evaluate(([p, n]) => window.cacheBench.fetchOnly(p, n), [path, RUNS] as const);
    const { cold, warm } = await page.evaluate(([p, n]) => window.cacheBench.load(p, n), [
      path,
      RUNS,
    ] as const);
    if (cold.fromCache.some(Boolean) || !warm.fromCache.every(Boolean)) {
      throw new Error('a cold load came from the cache or a warm one did not');
    }
    const coldFig = summarize(
      `cold load ${MIB} MiB: Range download, SHA-256, store, read`,
      'MB/s',
      mbps(cold.ms),
    );
    const figures: BenchFigure[] = [
      summarize(`plain fetch ${MIB} MiB over loopback, no cache (reference)`, 'MB/s', mbps(plain)),
      coldFig,
      summarize(`warm load ${MIB} MiB from IndexedDB: read, SHA-256`, 'MB/s', mbps(warm.ms), coldFig.median),
    ];

    const r = await page.evaluate(([t, n]) => window.cacheBench.response(t, n), [64, RUNS] as const);
    const gen = summarize(
      `generate ${r.tokens} tokens greedily (stories260K, CPU, in page)`,
      'ms',
      r.generateMs,
    );
    const hit = summarize(
      `response-cache hit, ${r.tokens} chunks replayed (IndexedDB)`,
      'ms',
      r.hitMs,
      gen.median,
    );
    figures.push(gen, hit);
    writeBench('cache', figures);
    console.log(
      '  (Chromium, on-disk profile; warm ratio is × faster than cold; hit ratio is the fraction of generate time)',
    );
    return figures;
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runCacheBench();
