import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type ConsumerApp, prepareConsumerApp } from '../consumer/prepare.js';
import { type StaticServer, startStaticServer } from '../consumer/static-server.js';

// The published packages in a fresh app outside the workspace (see consumer/prepare.ts): Vite's
// dev server and build, webpack's development and production builds, each generating with
// 'auto', 'cpu' and 'onnx' in Chromium. Built apps are served without Range support.

declare global {
  interface Window {
    consumerReady?: boolean;
    consumer: {
      run(
        backend: string,
      ): Promise<{ ok: boolean; text?: string; backend?: string; code?: string; message?: string }>;
      brokenWorker(): Promise<{ ok: boolean; code?: string; ms: number }>;
    };
  }
}

const OPENING =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';
const BACKENDS = ['auto', 'cpu', 'onnx'] as const;
const TARGETS = ['vite dev', 'vite build', 'webpack development', 'webpack production'] as const;

test.describe.configure({ mode: 'serial' });

let app: ConsumerApp;
let vite: ChildProcess | undefined;
const viteLog: string[] = [];
const servers: StaticServer[] = [];
const base: Partial<Record<(typeof TARGETS)[number], string>> = {};

async function startVite(dir: string): Promise<string> {
  const port = 30_000 + (process.pid % 20_000);
  vite = spawn(process.execPath, [join(dir, 'node_modules/vite/bin/vite.js'), '--port', String(port)], {
    cwd: dir,
    stdio: 'pipe',
  });
  vite.stdout?.on('data', (d: Buffer) => viteLog.push(d.toString()));
  vite.stderr?.on('data', (d: Buffer) => viteLog.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 30_000; Date.now() < until; ) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`vite dev did not start:\n${viteLog.join('')}`);
}

test.beforeAll(async () => {
  test.setTimeout(600_000);
  app = await prepareConsumerApp();
  console.log(`consumer app in ${app.dir}; seconds per step: ${JSON.stringify(app.steps)}`);
  base['vite dev'] = await startVite(app.dir);
  const publicDir = join(app.dir, 'public');
  for (const [target, out] of [
    ['vite build', 'dist-vite'],
    ['webpack development', 'dist-webpack-dev'],
    ['webpack production', 'dist-webpack'],
  ] as const) {
    const s = await startStaticServer([join(app.dir, out), publicDir]);
    servers.push(s);
    base[target] = s.url;
  }
});

test.afterAll(async () => {
  vite?.kill();
  for (const s of servers) await s.close();
  // The app (with its node_modules) lives in a temp dir of its own, unless it was given to reuse.
  if (app && !process.env.EDGELM_CONSUMER_APP) await rm(dirname(app.dir), { recursive: true, force: true });
});

for (const target of TARGETS) {
  for (const backend of BACKENDS) {
    test(`${target}: generates with backend '${backend}'`, async ({ page }) => {
      test.setTimeout(120_000);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(base[target]!);
      await page.waitForFunction(() => window.consumerReady === true);
      const r = await page.evaluate((b) => window.consumer.run(b), backend);
      expect(
        r,
        `${JSON.stringify(r)}\n${errors.join('\n')}\n${target === 'vite dev' ? viteLog.join('') : ''}`,
      ).toMatchObject({
        ok: true,
        backend: backend === 'auto' ? 'webgpu' : backend,
      });
      expect(r.text!.length).toBeGreaterThan(10);
      expect(OPENING.startsWith(`Once upon a time${r.text}`)).toBe(true);
    });
  }
}

test('a worker that cannot load rejects createEngine with a typed error within seconds', async ({ page }) => {
  await page.goto(base['vite build']!);
  await page.waitForFunction(() => window.consumerReady === true);
  const r = await page.evaluate(() => window.consumer.brokenWorker());
  expect(r).toMatchObject({ ok: false, code: 'WORKER_ERROR' });
  expect(r.ms).toBeLessThan(10_000);
});
