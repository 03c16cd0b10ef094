import 'fake-indexeddb/auto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheProgress, cachedUrlSource, createWeightStore } from '../src/cache/index.js';

// A static server that ignores Range, as `python3 -m http.server` does: every GET is a 200 with
// the whole file, with a Content-Length or (chunked) without one.
const CHUNK = 64 * 1024;
const SIZE = 5 * CHUNK + 777;
const file = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
let server: Server;
let base = '';
const requests: { path: string; range: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', range: req.headers.range });
    const chunked = req.url?.startsWith('/chunked');
    res.writeHead(200, chunked ? {} : { 'content-length': String(SIZE) });
    // Several writes, so the body arrives in pieces that straddle chunk boundaries.
    for (let off = 0; off < SIZE; off += 50_000) res.write(file.subarray(off, off + 50_000));
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let stores = 0;
describe.each(['/sized/model.bin', '/chunked/model.bin'])('a server without Range support (%s)', (path) => {
  it('loads with one plain GET, with progress, then opens from the cache', async () => {
    const store = createWeightStore({ name: `no-range-${++stores}` });
    requests.length = 0;
    const progress: CacheProgress[] = [];
    const source = await cachedUrlSource(base + path, {
      store,
      chunkSize: CHUNK,
      onProgress: (p) => progress.push(p),
    });
    expect(requests).toHaveLength(1);
    expect(source.fromCache).toBe(false);
    expect(source.size).toBe(SIZE);
    expect(await source.read(0, SIZE)).toEqual(file);
    expect(await source.read(CHUNK - 3, 10)).toEqual(file.subarray(CHUNK - 3, CHUNK + 7));
    expect(progress.at(-1)).toEqual({ loaded: SIZE, total: SIZE, cached: false });
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);

    requests.length = 0;
    const warm = await cachedUrlSource(base + path, { store, chunkSize: CHUNK });
    expect(warm.fromCache).toBe(true);
    expect(await warm.read(0, SIZE)).toEqual(file);
    expect(requests).toHaveLength(0);
  });
});
