// The headless-Chromium runtime: the bench page bundled from bench/gpu/page, the cached model
// files served by the e2e test server under /models/, one tab for the adapter and each row.

import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../../e2e/lib/chromium.js';
import { buildHarness } from '../../../../e2e/server/harness-build.js';
import { startTestServer, type TestServer } from '../../../../e2e/server/test-server.js';
import type { AdapterReport } from './adapter.js';
import type { MeasureSpec } from './measure.js';
import type { PageRow } from './page/gpu-bench.js';

export interface ChromiumRuntime {
  adapter: AdapterReport;
  row(file: string, spec: MeasureSpec): Promise<PageRow>;
  close(): Promise<void>;
}

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  const exe = chromiumExecutable();
  return existsSync(exe) ? undefined : `no Chromium at ${exe} (set EDGELM_CHROMIUM)`;
}

/**
 * Starts Chromium on the adapter Node found: SwiftShader when that one is CPU-like (as the e2e
 * suite runs), else the browser's own GPU adapter.
 */
export async function startChromiumRuntime(
  modelsDir: string,
  swiftshader: boolean,
): Promise<ChromiumRuntime> {
  const files = await buildHarness(join(import.meta.dirname, 'page'));
  const server: TestServer = await startTestServer({ port: 0, files, modelsDir });
  const args = swiftshader
    ? CHROMIUM_ARGS
    : [...CHROMIUM_ARGS.filter((a) => !a.startsWith('--use-webgpu-adapter')), '--use-angle=vulkan'];
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: chromiumExecutable(), args });
    const b = browser;
    const open = async () => {
      const tab = await b.newPage();
      await tab.goto(`${server.url}/harness/gpu-bench.html`);
      await tab.waitForFunction(() => typeof window.gpuBenchRow === 'function');
      return tab;
    };
    const first = await open();
    const adapter = await first.evaluate(() => window.gpuBenchAdapter(true));
    await first.close();
    if (!adapter) throw new TypeError('The page returned no adapter report');
    return {
      adapter,
      async row(file, spec) {
        if (dirname(file) !== modelsDir) throw new RangeError(`${file} is not under ${modelsDir}`);
        const tab = await open();
        try {
          await tab.evaluate(() => window.gpuBenchAdapter(false));
          const url = `/models/${encodeURIComponent(basename(file))}`;
          return await tab.evaluate(([u, s]) => window.gpuBenchRow(u, s), [url, spec] as const);
        } finally {
          await tab.close();
        }
      },
      async close() {
        await b.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}
