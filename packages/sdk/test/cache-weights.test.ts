import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, get, set, type UseStore } from 'idb-keyval';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syntheticBytes } from '../../../e2e/server/synthetic.js';
import { startTestServer, type TestServer } from '../../../e2e/server/test-server.js';
import {
  type CacheProgress,
  cachedUrlSource,
  cacheUsage,
  createWeightStore,
  deleteCachedModel,
  listCachedModels,
  persistCache,
  prefetchModel,
} from '../src/cache/index.js';
import { isEdgeLMError } from '../src/errors.js';

const CHUNK = 64 * 1024;
let server: TestServer;
let storeCount = 0;
const freshStore = (opts: Parameters<typeof createWeightStore>[0] = {}) =>
  createWeightStore({ name: `test-${++storeCount}`, ...opts });
const synthetic = (name: string, size: number) => `${server.url}/synthetic/${name}?size=${size}`;
const statsOf = (path: string) => server.stats.get(path) ?? { requests: 0, ranges: [], bytes: 0, cuts: 0 };
/** Range requests for chunks, leaving out the one-byte probe. */
const chunkRanges = (path: string) => statsOf(path).ranges.filter((r) => r !== 'bytes=0-0');

async function readAll(source: { size: number; read(o: number, l: number): Promise<Uint8Array> }) {
  return source.read(0, source.size);
}

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.close());
beforeEach(() => {
  server.stats.clear();
  server.faults.clear();
});

describe('weight cache', () => {
  it('downloads a model once, then opens it with no request at all', async () => {
    const store = freshStore();
    const size = 5 * CHUNK + 1234;
    const progress: CacheProgress[] = [];
    const first = await cachedUrlSource(synthetic('a.bin', size), {
      store,
      chunkSize: CHUNK,
      onProgress: (p) => progress.push(p),
    });
    expect(first.fromCache).toBe(false);
    expect(chunkRanges('/synthetic/a.bin')).toHaveLength(6);
    expect(progress.at(-1)).toEqual({ loaded: size, total: size, cached: false });
    for (let i = 1; i < progress.length; i++)
      expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);

    server.stats.clear();
    const warm: CacheProgress[] = [];
    const second = await cachedUrlSource(synthetic('a.bin', size), {
      store,
      onProgress: (p) => warm.push(p),
    });
    expect(second.fromCache).toBe(true);
    expect(warm).toEqual([{ loaded: size, total: size, cached: true }]);
    const expected = syntheticBytes('a.bin', size);
    expect(await readAll(second)).toEqual(expected);
    // Reads inside one chunk, across chunk borders, and at the end.
    for (const [o, l] of [
      [10, 100],
      [CHUNK - 3, 10],
      [CHUNK * 2 - 1, CHUNK * 2 + 2],
      [size - 7, 7],
      [0, 0],
    ]) {
      expect(await second.read(o, l)).toEqual(expected.subarray(o, o + l));
    }
    expect(statsOf('/synthetic/a.bin').requests).toBe(0);
    await expect(second.read(size - 1, 2)).rejects.toMatchObject({ code: 'TRUNCATED' });
  });

  it('serves the real model file byte for byte', async () => {
    const store = freshStore();
    const source = await cachedUrlSource(`${server.url}/models/stories260K.bin`, {
      store,
      chunkSize: 256 * 1024,
    });
    const file = readFileSync(join(process.env.EDGELM_MODELS_DIR!, 'stories260K.bin'));
    expect(source.size).toBe(file.byteLength);
    expect(Buffer.from(await readAll(source)).equals(file)).toBe(true);
  });

  it('resumes a download cut half-way, fetching only the missing chunks', async () => {
    const store = freshStore();
    const size = 16 * CHUNK;
    const url = synthetic('cut.bin', size);
    server.faults.set('/synthetic/cut.bin', {
      path: '/synthetic/cut.bin',
      afterBytes: size / 2,
      sent: 0,
      cut: false,
    });
    const err = await cachedUrlSource(url, { store, chunkSize: CHUNK, retries: 1 }).catch((e: unknown) => e);
    expect(isEdgeLMError(err) && err.code).toBe('NETWORK');
    const [partial] = await listCachedModels(store);
    expect(partial.complete).toBe(false);
    expect(partial.storedBytes).toBeGreaterThan(0);
    expect(partial.storedBytes).toBeLessThan(size);
    const firstRanges = new Set(chunkRanges('/synthetic/cut.bin'));

    server.stats.clear();
    server.faults.clear();
    const source = await cachedUrlSource(url, { store, chunkSize: CHUNK });
    const resumed = chunkRanges('/synthetic/cut.bin');
    expect(resumed.length).toBe((size - partial.storedBytes) / CHUNK);
    expect(statsOf('/synthetic/cut.bin').bytes).toBe(size - partial.storedBytes + 1);
    // A chunk stored in the first run is never asked for again.
    const storedRanges = [...firstRanges].filter((r) => !resumed.includes(r));
    expect(storedRanges.length).toBe(partial.storedBytes / CHUNK);
    expect(await readAll(source)).toEqual(syntheticBytes('cut.bin', size));
    expect((await listCachedModels(store))[0].complete).toBe(true);
  });

  it('detects a flipped byte in a stored chunk, fetches that chunk again and serves the right bytes', async () => {
    const store = freshStore({ name: 'flip' });
    const size = 4 * CHUNK;
    const url = synthetic('flip.bin', size);
    await prefetchModel(url, { store, chunkSize: CHUNK });
    const chunks = createStore('flip-chunks', 'chunks');
    const stored = new Uint8Array((await get<ArrayBuffer>([url, 2], chunks))!);
    stored[100] ^= 0x40;
    await set([url, 2], stored.buffer, chunks);

    server.stats.clear();
    const source = await cachedUrlSource(url, { store });
    expect(await readAll(source)).toEqual(syntheticBytes('flip.bin', size));
    expect(source.repairs).toBe(1);
    expect(chunkRanges('/synthetic/flip.bin')).toEqual([`bytes=${2 * CHUNK}-${3 * CHUNK - 1}`]);
    // The repaired chunk is stored again: a new source reads it without the network.
    server.stats.clear();
    const again = await cachedUrlSource(url, { store });
    expect(await readAll(again)).toEqual(syntheticBytes('flip.bin', size));
    expect(statsOf('/synthetic/flip.bin').requests).toBe(0);
  });

  it('fails with INTEGRITY when a corrupt chunk cannot be fetched again, and forgets the chunk', async () => {
    const store = freshStore({ name: 'offline' });
    const url = synthetic('offline.bin', 3 * CHUNK);
    await prefetchModel(url, { store, chunkSize: CHUNK });
    const chunks = createStore('offline-chunks', 'chunks');
    const stored = new Uint8Array((await get<ArrayBuffer>([url, 1], chunks))!);
    stored[0] ^= 1;
    await set([url, 1], stored.buffer, chunks);
    const offline: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const source = await cachedUrlSource(url, { store, fetch: offline });
    expect(await source.read(0, 10)).toEqual(syntheticBytes('offline.bin', 3 * CHUNK, '1', 0, 10));
    await expect(source.read(CHUNK, 10)).rejects.toMatchObject({ code: 'INTEGRITY' });
    const [info] = await listCachedModels(store);
    expect(info.complete).toBe(false);
    expect(info.storedBytes).toBe(2 * CHUNK);
    // Back online, the next open fetches just that chunk.
    server.stats.clear();
    const healed = await cachedUrlSource(url, { store });
    expect(chunkRanges('/synthetic/offline.bin')).toEqual([`bytes=${CHUNK}-${2 * CHUNK - 1}`]);
    expect(await readAll(healed)).toEqual(syntheticBytes('offline.bin', 3 * CHUNK));
  });

  it('refuses to mix chunks of a file that changed on the server', async () => {
    const store = freshStore();
    const size = 8 * CHUNK;
    const url = synthetic('changes.bin', size);
    server.faults.set('/synthetic/changes.bin', {
      path: '/synthetic/changes.bin',
      afterBytes: size / 2,
      sent: 0,
      cut: false,
    });
    await cachedUrlSource(url, { store, chunkSize: CHUNK, retries: 0 }).catch(() => {});
    server.faults.clear();
    server.stats.clear();
    // Same URL, new contents and ETag.
    const v2: typeof fetch = (input, init) => fetch(`${String(input)}&v=2`, init);
    const source = await cachedUrlSource(url, { store, chunkSize: CHUNK, fetch: v2 });
    expect(chunkRanges('/synthetic/changes.bin')).toHaveLength(8);
    expect(await readAll(source)).toEqual(syntheticBytes('changes.bin', size, '2'));
  });

  it('evicts the least recently used model when the budget is reached, never the one loading', async () => {
    const evicted: string[] = [];
    const store = freshStore({ maxBytes: 10 * CHUNK, onEvict: (m) => evicted.push(m.id) });
    const a = synthetic('old.bin', 4 * CHUNK);
    const b = synthetic('recent.bin', 4 * CHUNK);
    const c = synthetic('new.bin', 4 * CHUNK);
    await prefetchModel(a, { store, chunkSize: CHUNK });
    await new Promise((r) => setTimeout(r, 5));
    await prefetchModel(b, { store, chunkSize: CHUNK });
    const source = await cachedUrlSource(c, { store, chunkSize: CHUNK });
    expect(evicted).toEqual([a]);
    expect((await listCachedModels(store)).map((m) => m.id).sort()).toEqual([b, c].sort());
    expect(await readAll(source)).toEqual(syntheticBytes('new.bin', 4 * CHUNK));
    expect((await cacheUsage(store)).bytes).toBe(8 * CHUNK);
  });

  it('gives QUOTA_EXCEEDED with bytes needed and available when even eviction cannot make room', async () => {
    const store = freshStore({ maxBytes: 3 * CHUNK });
    const url = synthetic('huge.bin', 5 * CHUNK);
    const err = await cachedUrlSource(url, { store, chunkSize: CHUNK }).catch((e: unknown) => e);
    expect(isEdgeLMError(err) && err.code).toBe('QUOTA_EXCEEDED');
    expect(isEdgeLMError(err) && err.details).toMatchObject({ needed: 2 * CHUNK, available: 0 });
    const [info] = await listCachedModels(store);
    expect(info.complete).toBe(false);
  });

  it('treats a QuotaExceededError from IndexedDB itself the same way', async () => {
    const real = createStore('dom-quota-chunks', 'chunks');
    let refuseWrites = 0;
    // Wraps the real store: a put fails like a full disk for as long as `refuseWrites` says,
    // while deletes (eviction) still work, as they do on a full disk.
    const chunks: UseStore = (mode, callback) =>
      real(mode, (s) => {
        const put = s.put.bind(s);
        s.put = (value, key) => {
          if (refuseWrites > 0) {
            refuseWrites--;
            throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          }
          return put(value, key);
        };
        return callback(s);
      });
    const evicted: string[] = [];
    const store = createWeightStore({ name: 'dom-quota', chunks, onEvict: (m) => evicted.push(m.id) });
    const old = synthetic('dom-old.bin', 2 * CHUNK);
    await prefetchModel(old, { store, chunkSize: CHUNK });
    refuseWrites = 1;
    await prefetchModel(synthetic('dom-new.bin', 2 * CHUNK), { store, chunkSize: CHUNK });
    expect(evicted).toEqual([old]);
    refuseWrites = 1000;
    const err = await prefetchModel(synthetic('dom-more.bin', CHUNK), { store, chunkSize: CHUNK }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: 'QUOTA_EXCEEDED' });
  });

  it('shares one download between concurrent opens and lists, measures and deletes models', async () => {
    const store = freshStore();
    const url = synthetic('shared.bin', 6 * CHUNK);
    const seen: number[] = [];
    const [s1, s2] = await Promise.all([
      cachedUrlSource(url, { store, chunkSize: CHUNK }),
      cachedUrlSource(url, { store, chunkSize: CHUNK, onProgress: (p) => seen.push(p.loaded) }),
    ]);
    expect(statsOf('/synthetic/shared.bin').requests).toBe(7);
    expect(seen.at(-1)).toBe(6 * CHUNK);
    expect(await s1.read(0, 16)).toEqual(await s2.read(0, 16));
    const usage = await cacheUsage(store);
    expect(usage).toMatchObject({ models: 1, bytes: 6 * CHUNK });
    expect(await deleteCachedModel(url, store)).toBe(true);
    expect(await deleteCachedModel(url, store)).toBe(false);
    expect(await listCachedModels(store)).toEqual([]);
    expect(await get([url, 0], createStore(`${store.name}-chunks`, 'chunks'))).toBeUndefined();
  });

  it('keeps serving verified bytes from the network after the model is deleted under an open source', async () => {
    const store = freshStore();
    const size = 4 * CHUNK;
    const url = synthetic('deleted.bin', size);
    const source = await cachedUrlSource(url, { store, chunkSize: CHUNK, memoryChunks: 1 });
    expect(await deleteCachedModel(url, store)).toBe(true);
    server.stats.clear();
    expect(await readAll(source)).toEqual(syntheticBytes('deleted.bin', size));
    expect(chunkRanges('/synthetic/deleted.bin')).toHaveLength(4);
    // Nothing comes back to life claiming to be cached.
    expect(await listCachedModels(store)).toEqual([]);
    expect((await cacheUsage(store)).bytes).toBe(0);
  });

  it('asks for persistence only where the platform can grant it', async () => {
    expect(await persistCache()).toBe(false); // Node has no navigator.storage
  });

  it('stops on abort with ABORTED and keeps what was stored', async () => {
    const store = freshStore();
    const url = synthetic('abort.bin', 32 * CHUNK);
    const controller = new AbortController();
    const err = await cachedUrlSource(url, {
      store,
      chunkSize: CHUNK,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.loaded >= 4 * CHUNK) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ABORTED' });
    const [info] = await listCachedModels(store);
    expect(info.complete).toBe(false);
    expect(info.storedBytes).toBeLessThan(32 * CHUNK);
  });

  it('refuses a server that hides Content-Range, rather than guess the size', async () => {
    const url = synthetic('norange.bin', 2 * CHUNK);
    const hidesRange: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(res.headers);
      headers.delete('content-range');
      return new Response(res.body, { status: res.status, headers });
    };
    const store = freshStore();
    await expect(cachedUrlSource(url, { store, fetch: hidesRange })).rejects.toMatchObject({
      code: 'NETWORK',
    });
    expect(await listCachedModels(store)).toEqual([]);
  });

  it('takes a server that ignores Range as one plain download (cache-no-range.test.ts has the details)', async () => {
    const size = 2 * CHUNK + 5;
    const url = synthetic('norange.bin', size);
    const ignoresRange: typeof fetch = (input, init) => fetch(input, { ...init, headers: {} });
    const store = freshStore();
    const source = await cachedUrlSource(url, { store, fetch: ignoresRange, chunkSize: CHUNK });
    expect(await readAll(source)).toEqual(syntheticBytes('norange.bin', size));
    expect(statsOf('/synthetic/norange.bin').requests).toBe(1);
    expect((await listCachedModels(store))[0]).toMatchObject({ complete: true, size });
  });

  it('reports a missing file as NOT_FOUND', async () => {
    await expect(
      cachedUrlSource(`${server.url}/models/nope.bin`, { store: freshStore() }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
