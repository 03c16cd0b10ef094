import { join } from 'node:path';
import type { Locator, Page, TestInfo } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import { defaultModelsDir } from '../server/test-server.js';
import { type DemoServers, startDemoServers } from './demo-servers.js';

const OPENING =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';
/** Over stories260K's 512 positions with the answer's 48 tokens, well inside the server's 2,048. */
const LONG_PROMPT = 'Tom and Sue played with a red ball in the sunny park near the big tree. '.repeat(30);

let servers: DemoServers;

// Service worker, IndexedDB and quota as a real user has them; a fresh profile per test.
test.use({ profile: 'disk' });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  servers = await startDemoServers();
});

test.afterAll(async () => {
  await servers?.close();
});

async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  const path = info.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await info.attach(name, { path, contentType: 'image/png' });
}

/** Waits for the model to load (WebGPU on SwiftShader compiles for ~20 s; more on a busy machine). */
async function ready(page: Page): Promise<void> {
  const body = page.locator('body');
  await expect(body).toHaveAttribute('data-model', /ready|error/, { timeout: 120_000 });
  if ((await body.getAttribute('data-model')) === 'error')
    throw new Error(`model failed to load: ${await page.getByTestId('model-error').textContent()}`);
}

/** Types a prompt, generates, and returns the finished entry. */
async function generate(page: Page, prompt: string): Promise<Locator> {
  const before = await page.getByTestId('entry').count();
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('generate').click();
  const entry = page.getByTestId('entry').nth(before);
  await expect(entry).toHaveAttribute('data-state', /done|error/, { timeout: 60_000 });
  await expect(entry).toHaveAttribute('data-state', 'done');
  return entry;
}

const number = async (l: Locator) => Number.parseFloat((await l.textContent()) ?? '');

test('the playground streams stories260K, then works offline, from the response cache, and remotely', async ({
  context,
  page,
}, info) => {
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  page.on('pageerror', (e) => console.error(`[demo] ${e.message}`));
  // A fixed answer length keeps the run short; everything else is the app's default (greedy, cache on).
  await page.goto(`${servers.demo}/?maxTokens=48`);

  await test.step('greedy generation streams the reference opening', async () => {
    await ready(page);
    await expect(page.getByTestId('model-name')).toHaveText('stories260K');
    // Record every length the answer passes through: streamed text grows in many steps.
    await page.evaluate(() => {
      const w = window as unknown as { lengths: number[] };
      w.lengths = [];
      new MutationObserver(() => {
        const out = document.querySelector('[data-testid=entry-output]');
        if (out) w.lengths.push(out.textContent?.length ?? 0);
      }).observe(document.querySelector('[data-testid=transcript]')!, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    const entry = await generate(page, 'Once upon a time');
    const text = `Once upon a time${await entry.getByTestId('entry-output').textContent()}`;
    expect(text.startsWith(OPENING)).toBe(true);
    const lengths = await page.evaluate(() => (window as unknown as { lengths: number[] }).lengths);
    expect(new Set(lengths.filter((n) => n > 0)).size).toBeGreaterThan(3);

    await expect(entry.getByTestId('entry-served')).toContainText('Local');
    await expect(entry.getByTestId('entry-cached')).toHaveCount(0);
    expect(await number(page.getByTestId('metric-ttft'))).toBeGreaterThan(0);
    expect(await number(page.getByTestId('metric-decode'))).toBeGreaterThan(0);
    await expect(page.getByTestId('metric-cache-miss')).toBeVisible();
    await expect(page.getByTestId('adapter-name')).not.toBeEmpty();
    await expect(page.getByTestId('device-backend')).toContainText(/WebGPU|CPU/);
    await expect(page.getByTestId('cache-row')).toHaveCount(2); // model and tokenizer, stored for offline use
    await shot(page, info, '1-generated-online');
  });

  await test.step('with the network off, the app reloads and generates', async () => {
    const controlled = await page.evaluate(async () => Boolean((await navigator.serviceWorker.ready).active));
    expect(controlled).toBe(true);
    await context.setOffline(true);
    await page.reload();
    await ready(page);
    // Chromium 150 under Playwright 1.65: after a reload with the network emulated off, requests
    // still fail but navigator.onLine reads true (a new page reads false). Sending the state
    // again corrects it and fires 'offline', as a real network drop would.
    expect(
      await page.evaluate(() =>
        fetch('/?probe', { cache: 'no-store', method: 'HEAD' }).then(
          () => 'up',
          () => 'down',
        ),
      ),
    ).toBe('down');
    if (await page.evaluate(() => navigator.onLine)) {
      await context.setOffline(false);
      await context.setOffline(true);
    }
    await expect(page.getByTestId('status-chips')).toContainText('Offline');
    await expect(page.getByTestId('model-status')).toContainText('from cache');
    const entry = await generate(page, 'Lily and Ben went to the park');
    expect(((await entry.getByTestId('entry-output').textContent()) ?? '').length).toBeGreaterThan(20);
    await expect(entry.getByTestId('entry-served')).toContainText('Local');
    await expect(entry.getByTestId('entry-cached')).toHaveCount(0);
    await shot(page, info, '2-offline');
  });

  await test.step('the same deterministic prompt is answered from the response cache', async () => {
    const entry = await generate(page, 'Once upon a time');
    await expect(entry.getByTestId('entry-cached')).toBeVisible();
    await expect(entry.getByTestId('entry-reason')).toHaveText('answered from the response cache');
    await expect(page.getByTestId('metric-cache-hit')).toBeVisible();
    const text = `Once upon a time${await entry.getByTestId('entry-output').textContent()}`;
    expect(text.startsWith(OPENING)).toBe(true);
    await shot(page, info, '3-response-cache');
  });

  await test.step('a prompt over the local context goes to the reference server, and the UI says why', async () => {
    await context.setOffline(false);
    // Routing does not depend on the backend: the CPU one loads in a second, WebGPU on SwiftShader in ~20.
    await page.goto(`${servers.demo}/?maxTokens=48&backend=cpu`);
    await ready(page);
    const before = await servers.remoteRequests();
    const entry = await generate(page, LONG_PROMPT);
    await expect(entry.getByTestId('entry-served')).toHaveText('Remote');
    await expect(entry.getByTestId('entry-reason')).toContainText('exceed the local context of 512');
    await expect(page.getByTestId('metric-served')).toContainText('Served remotely');
    expect(((await entry.getByTestId('entry-output').textContent()) ?? '').length).toBeGreaterThan(0);
    expect((await servers.remoteRequests()) - before).toBe(1);
    await shot(page, info, '4-remote-fallback');
  });
});

test('the benchmark page measures each backend and draws the charts', async ({ page }, info) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${servers.demo}/bench.html?autorun=1&runs=2&prompt=8&decode=8&models=stories260K`);
  await expect(page.locator('body')).toHaveAttribute('data-bench', 'done', { timeout: 100_000 });
  type Figure = { name: string; median: number };
  const figures = await page.evaluate(() => (window as unknown as { benchFigures: Figure[] }).benchFigures);
  const decode = figures.filter((f) => f.name.endsWith(' decode'));
  expect(decode.map((f) => f.name).sort()).toEqual([
    'stories260K f32 cpu decode',
    'stories260K f32 webgpu decode',
  ]);
  for (const f of decode) expect(f.median).toBeGreaterThan(0);
  await expect(page.getByTestId('bench-charts').locator('svg.chart')).toHaveCount(3);
  await expect(page.getByTestId('bench-charts').locator('svg.chart rect')).toHaveCount(6);
  await shot(page, info, '5-benchmark');
});

test('a llama2.c checkpoint dropped with its tokenizer loads and generates', async ({ page }, info) => {
  // The CPU backend: this test is about the file path, and it loads in about a second.
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${servers.demo}/?autoload=off&backend=cpu&maxTokens=32`);
  const dir = defaultModelsDir();
  await page
    .getByTestId('dropzone')
    .locator('input[type=file]')
    .setInputFiles([join(dir, 'stories260K.bin'), join(dir, 'tok512.bin')]);
  await ready(page);
  await expect(page.getByTestId('model-status')).toContainText('stories260K');
  await expect(page.getByTestId('model-select')).toHaveValue(/^file:stories260K.bin:/);
  const entry = await generate(page, 'Once upon a time');
  expect(`Once upon a time${await entry.getByTestId('entry-output').textContent()}`.startsWith(OPENING)).toBe(
    true,
  );
  await expect(entry.getByTestId('entry-served')).toHaveText('Local · CPU');
  await shot(page, info, '6-dropped-file');
});
