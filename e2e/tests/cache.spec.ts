import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import type { LoadOptions, Outcome } from '../harness/cache.js';
import { syntheticBytes } from '../server/synthetic.js';
import type { PathStats } from '../server/test-server.js';
import { defaultModelsDir } from '../server/test-server.js';

const MODEL = '/models/stories260K.bin';
const TOKENIZER = '/models/tok512.bin';
const OPENING = ', there was a little girl named Lily. She loved to play outside in the park.';
const CHUNK = 64 * 1024;
const modelBytes = readFileSync(join(defaultModelsDir(), 'stories260K.bin'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Chunk requests, leaving out the one-byte probe that precedes a download. */
const chunkRanges = (s: PathStats) => s.ranges.filter((r) => r !== 'bytes=0-0');
const rangeOf = (i: number, size: number) => `bytes=${i * CHUNK}-${Math.min((i + 1) * CHUNK, size) - 1}`;

function value<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`${o.code}: ${o.message}`);
  return o.value;
}
const load = (page: Page, url: string, o: LoadOptions = {}) =>
  page.evaluate(([u, opts]) => window.cacheHarness.load(u, opts), [url, o] as const);
const generate = (page: Page, prompt: string, o: Parameters<Window['cacheHarness']['generate']>[1] = {}) =>
  page.evaluate(([p, opts]) => window.cacheHarness.generate(p, opts), [prompt, o] as const);

test.describe('weight cache in Chromium IndexedDB', () => {
  // A browser on an on-disk profile per test: IndexedDB files and quota as a user has them.
  test.use({ profile: 'disk' });

  test('first load downloads in chunks; after a reload it loads with zero weight requests', async ({
    page,
    harness,
    server,
  }) => {
    await harness('cache');
    const first = value(await load(page, MODEL, { chunkSize: CHUNK }));
    expect(first).toMatchObject({
      fromCache: false,
      size: modelBytes.byteLength,
      sha256: sha(modelBytes),
      repairs: 0,
    });
    expect(first.lastProgress).toEqual({
      loaded: modelBytes.byteLength,
      total: modelBytes.byteLength,
      cached: false,
    });
    expect(chunkRanges(await server.statsOf(MODEL))).toHaveLength(Math.ceil(modelBytes.byteLength / CHUNK));

    await server.reset();
    await page.reload();
    const second = value(await load(page, MODEL, { chunkSize: CHUNK }));
    expect(second).toMatchObject({ fromCache: true, sha256: sha(modelBytes) });
    expect(second.lastProgress).toMatchObject({ cached: true });
    expect((await server.statsOf(MODEL)).requests).toBe(0);

    const usage = await page.evaluate(() => window.cacheHarness.usage());
    expect(usage).toMatchObject({ models: 1, bytes: modelBytes.byteLength });
    expect(usage.estimate?.usage).toBeGreaterThanOrEqual(modelBytes.byteLength);
    expect(typeof (await page.evaluate(() => window.cacheHarness.persist()))).toBe('boolean');
  });

  test('the engine in its worker loads from the cache after a reload and generates the same text', async ({
    page,
    harness,
    server,
  }) => {
    await harness('cache');
    const first = value(await generate(page, 'Once upon a time', { maxTokens: 20, cache: false }));
    expect(first.downloadCached).toBe(false);
    expect(OPENING.startsWith(first.text)).toBe(true);
    expect(first.text.length).toBeGreaterThan(30);

    await server.reset();
    await page.reload();
    const again = value(await generate(page, 'Once upon a time', { maxTokens: 20, cache: false }));
    expect(again).toMatchObject({ text: first.text, downloadCached: true });
    expect((await server.statsOf(MODEL)).requests).toBe(0);
    expect((await server.statsOf(TOKENIZER)).requests).toBe(0);
  });

  test('a download cut half-way resumes, fetching only the missing chunks', async ({
    page,
    harness,
    server,
  }) => {
    const size = 32 * CHUNK;
    const url = `/synthetic/cut.bin?size=${size}`;
    await harness('cache');
    await server.fault({ path: '/synthetic/cut.bin', afterBytes: size / 2 });
    const cut = await load(page, url, { chunkSize: CHUNK, retries: 0 });
    expect(cut).toMatchObject({ ok: false, code: 'NETWORK' });
    const [partial] = await page.evaluate(() => window.cacheHarness.list());
    expect(partial.complete).toBe(false);
    expect(partial.storedBytes).toBeGreaterThan(0);
    expect(partial.storedBytes).toBeLessThanOrEqual(size / 2);

    await server.reset();
    await page.reload();
    const resumed = value(await load(page, url, { chunkSize: CHUNK }));
    expect(resumed.sha256).toBe(sha(syntheticBytes('cut.bin', size)));
    const stats = await server.statsOf('/synthetic/cut.bin');
    const fetched = chunkRanges(stats);
    expect(new Set(fetched).size).toBe(fetched.length);
    expect(fetched.length * CHUNK).toBe(size - partial.storedBytes);
    expect(stats.bytes).toBe(size - partial.storedBytes + 1); // + the one-byte probe
    expect((await page.evaluate(() => window.cacheHarness.list()))[0].complete).toBe(true);
  });

  test('a flipped byte in a stored chunk is detected, re-fetched, and the bytes served are right', async ({
    page,
    harness,
    server,
  }) => {
    await harness('cache');
    value(
      await page.evaluate(([u, c]) => window.cacheHarness.prefetch(u, { chunkSize: c }), [
        MODEL,
        CHUNK,
      ] as const),
    );
    await page.evaluate(([u]) => window.cacheHarness.corrupt(u, 3, 1000), [MODEL] as const);

    await server.reset();
    await page.reload();
    const healed = value(await load(page, MODEL, { chunkSize: CHUNK }));
    expect(healed).toMatchObject({ fromCache: true, repairs: 1, sha256: sha(modelBytes) });
    expect((await server.statsOf(MODEL)).ranges).toEqual([rangeOf(3, modelBytes.byteLength)]);

    await server.reset();
    await page.reload();
    expect(value(await load(page, MODEL))).toMatchObject({ repairs: 0, sha256: sha(modelBytes) });
    expect((await server.statsOf(MODEL)).requests).toBe(0);
  });

  test('a corrupted model chunk under the engine is re-fetched and the greedy text is still right', async ({
    page,
    harness,
    server,
  }) => {
    await harness('cache');
    const first = value(await generate(page, 'Once upon a time', { maxTokens: 20, cache: false }));
    // The engine uses the default store and 4 MiB chunks: stories260K is chunk 0.
    await page.evaluate(([u]) => window.cacheHarness.corrupt(u, 0, 4096), [MODEL] as const);
    await server.reset();
    await page.reload();
    const again = value(await generate(page, 'Once upon a time', { maxTokens: 20, cache: false }));
    expect(again.text).toBe(first.text);
    expect(OPENING.startsWith(again.text)).toBe(true);
    expect((await server.statsOf(MODEL)).ranges).toEqual([`bytes=0-${modelBytes.byteLength - 1}`]);
  });

  test('a real QuotaExceededError evicts an older model and succeeds, or gives QUOTA_EXCEEDED', async ({
    page,
    harness,
    baseURL,
  }) => {
    const MiB = 1024 * 1024;
    // Chromium applies a quota override when the origin's storage opens, so set it first.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', {
      origin: new URL(baseURL!).origin,
      // Room for one 6 MiB model plus IndexedDB's own overhead (deleted data is reclaimed lazily), not two.
      quotaSize: 12 * MiB,
    });
    await harness('cache');
    const prefetch = (url: string) =>
      page.evaluate(([u]) => window.cacheHarness.prefetch(u, { chunkSize: 256 * 1024 }), [url] as const);
    const list = () => page.evaluate(() => window.cacheHarness.list());

    const older = value(await prefetch(`/synthetic/older.bin?size=${6 * MiB}`));
    // 6 + 6 MiB (and overhead) do not fit in 12: the older model must go for the newer one to finish.
    const attempt = await prefetch(`/synthetic/newer.bin?size=${6 * MiB}`);
    const models = (await list()).map((m) => [m.id, m.complete]);
    // The older model is gone either way. Chromium frees a deleted IndexedDB value's disk space
    // when it compacts, which may be later than the retry: then the write fails, typed.
    expect(models.some(([id]) => id === older.id)).toBe(false);
    if (attempt.ok) {
      expect(models).toEqual([[attempt.value.id, true]]);
    } else {
      expect(attempt).toMatchObject({ ok: false, code: 'QUOTA_EXCEEDED' });
      expect(models.every(([, complete]) => complete === false)).toBe(true);
    }

    const tooBig = await prefetch(`/synthetic/too-big.bin?size=${32 * MiB}`);
    expect(tooBig).toMatchObject({ ok: false, code: 'QUOTA_EXCEEDED' });
    if (tooBig.ok) return;
    const details = tooBig.details as { needed: number; available: number | null };
    expect(details.needed).toBeGreaterThan(8 * MiB);
    expect(details.available).toBeLessThan(details.needed);
    // Everything else was evicted trying, and the partial download is not presented as complete.
    const left = await list();
    expect(left.map((m) => [m.id.includes('too-big'), m.complete])).toEqual([[true, false]]);
  });
});

test.describe('response cache in Chromium IndexedDB', () => {
  test('a repeated greedy request is answered from the cache, across a reload', async ({ page, harness }) => {
    await harness('cache');
    const first = value(await generate(page, 'Once upon a time', { maxTokens: 16 }));
    expect(first).toMatchObject({ cached: false, responseCacheHits: 0 });
    await page.reload();
    const again = value(await generate(page, 'Once upon a time', { maxTokens: 16 }));
    expect(again).toMatchObject({ cached: true, responseCacheHits: 1, text: first.text });
  });

  test('a sampled request is not answered from the cache unless asked', async ({ page, harness }) => {
    await harness('cache');
    const sampled = { maxTokens: 16, temperature: 1 };
    value(await generate(page, 'Once upon a time', sampled));
    expect(value(await generate(page, 'Once upon a time', sampled))).toMatchObject({
      cached: false,
      responseCacheHits: 0,
    });
    const optIn = { ...sampled, cache: true };
    const first = value(await generate(page, 'Once upon a time', optIn));
    const second = value(await generate(page, 'Once upon a time', optIn));
    expect(second).toMatchObject({ cached: true, responseCacheHits: 1, text: first.text });
  });
});
