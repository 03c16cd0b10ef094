import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import type { DeviceOptions, Outcome, RunReport } from '../harness/remote.js';
import { defaultModelsDir } from '../server/test-server.js';

const PROMPT = 'Once upon a time';
const DEVICE_CONTEXT = 64;

/** The reference server as its own process, on a free loopback port (a different origin than the page). */
async function startEdgelmServer(): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(import.meta.dirname, '../../packages/server'),
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      EDGELM_BACKEND: 'cpu',
      EDGELM_MODELS_DIR: defaultModelsDir(),
      // The page is another origin; the server sends no CORS headers unless told to.
      CORS_ORIGINS: '*',
    },
  });
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /on (http:\/\/[^\s]+)/.exec(out);
      if (m) ok(m[1]);
    });
    proc.once('exit', (code) => fail(new Error(`edgelm server exited (${code}): ${out}`)));
  });
  return { url, proc };
}

/** Completion requests the server has seen, from its Prometheus counters. */
async function generationRequests(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (/^edgelm_requests_total\{endpoint="\/v1\/(chat\/)?completions"/.test(line))
      n += Number(line.split(' ').pop());
  return n;
}

function value<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`${o.code}: ${o.message}`);
  return o.value;
}
const load = (page: Page, o: DeviceOptions) => page.evaluate((opts) => window.remoteHarness.load(opts), o);
const generate = (page: Page, maxTokens: number, route?: 'auto' | 'local' | 'remote') =>
  page.evaluate(([p, n, r]) => window.remoteHarness.generate(p, n, r), [PROMPT, maxTokens, route] as const);

test.describe('remote fallback from a page (engine in its worker, server on another origin)', () => {
  let edgelm: { url: string; proc: ChildProcess };
  test.beforeAll(async () => {
    edgelm = await startEdgelmServer();
  });
  test.afterAll(() => {
    edgelm?.proc.kill('SIGTERM');
  });

  test('a request over the local context limit is served by the server, with its greedy text', async ({
    page,
    harness,
  }) => {
    await harness('remote');
    value(
      await load(page, { serverUrl: edgelm.url, privacy: 'allow-remote', contextLength: DEVICE_CONTEXT }),
    );
    const before = await generationRequests(edgelm.url);
    const r: RunReport = value(await generate(page, 80));
    expect(r.servedBy).toBe('remote');
    expect(r.routeReason).toContain(`exceed the local context of ${DEVICE_CONTEXT}`);
    expect(r.streamed).toBe(r.text);
    const direct = await fetch(`${edgelm.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, max_tokens: 80, cache: false }),
    });
    const expected = ((await direct.json()) as { choices: { text: string }[] }).choices[0].text;
    expect(r.text).toBe(expected);
    expect(r.text.startsWith(', there was a little girl named Lily.')).toBe(true);
    expect((await generationRequests(edgelm.url)) - before).toBe(2);

    const small = value(await generate(page, 8));
    expect(small.servedBy).toBe('local');
  });

  test("with 'local-only' it fails with a typed error and the server sees zero requests", async ({
    page,
    harness,
  }) => {
    await harness('remote');
    value(await load(page, { serverUrl: edgelm.url, privacy: 'local-only', contextLength: DEVICE_CONTEXT }));
    const before = await generationRequests(edgelm.url);
    const overflow = await generate(page, 80);
    expect(overflow).toMatchObject({ ok: false, code: 'CONTEXT_OVERFLOW' });
    const forced = await generate(page, 8, 'remote');
    expect(forced).toMatchObject({ ok: false, code: 'POLICY_DENIED' });
    expect(await generationRequests(edgelm.url)).toBe(before);
  });
});
