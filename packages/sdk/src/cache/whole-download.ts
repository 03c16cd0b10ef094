import { EdgeLMError } from '../errors.js';
import { sha256Hex } from './digest.js';
import type { CacheProgress } from './download.js';
import { type ModelManifest, newManifest } from './manifest.js';
import { persistManifest, storeChunk } from './quota.js';
import { asFetchError } from './range-fetch.js';
import { hold, type WeightStore } from './weight-store.js';

export interface WholeDownloadOptions {
  chunkSize: number;
  onProgress?: (p: CacheProgress) => void;
}

const PROGRESS_INTERVAL_MS = 100;

/**
 * Stores a file that arrives as one plain response (the server has no Range support): the body
 * is cut into the store's chunks as it streams, each verified and stored like a ranged chunk,
 * with progress on the way. Without a Content-Length the size is known only at the end, so the
 * chunks wait in memory until then. Not resumable: an interrupted download starts again.
 */
export async function downloadWhole(
  store: WeightStore,
  url: string,
  response: Response,
  info: { size: number | undefined; etag: string | null },
  opts: WholeDownloadOptions,
): Promise<ModelManifest> {
  if (!response.body) throw new EdgeLMError('NETWORK', `${url} sent no body`, { url });
  const { chunkSize } = opts;
  let m = info.size === undefined ? undefined : newManifest(url, info.size, info.etag, chunkSize);
  const release = m ? hold(store, m) : () => {};
  const waiting: Uint8Array[] = [];
  let index = 0;
  let loaded = 0;
  let lastReport = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
    lastReport = now;
    opts.onProgress({ loaded, total: info.size ?? loaded, cached: false });
  };
  const store1 = async (manifest: ModelManifest, i: number, bytes: Uint8Array): Promise<void> => {
    await storeChunk(store, manifest, i, bytes, await sha256Hex(bytes));
    await persistManifest(store, manifest);
  };
  const flush = async (bytes: Uint8Array): Promise<void> => {
    if (m) await store1(m, index, bytes);
    else waiting.push(bytes);
    index++;
  };

  const reader = response.body.getReader();
  let chunk = new Uint8Array(chunkSize);
  let filled = 0;
  try {
    if (m) await persistManifest(store, m);
    report(true);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (info.size !== undefined && loaded + value.byteLength > info.size)
        throw new EdgeLMError('NETWORK', `${url} sent more than its Content-Length of ${info.size}`, { url });
      for (let off = 0; off < value.byteLength; ) {
        const n = Math.min(chunkSize - filled, value.byteLength - off);
        chunk.set(value.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === chunkSize) {
          await flush(chunk);
          chunk = new Uint8Array(chunkSize);
          filled = 0;
        }
      }
      loaded += value.byteLength;
      report(false);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    release();
    throw asFetchError(e, url);
  }
  try {
    if (info.size !== undefined && loaded !== info.size)
      throw new EdgeLMError('NETWORK', `${url}: connection closed after ${loaded} of ${info.size} bytes`, {
        url,
        received: loaded,
      });
    if (filled > 0 || loaded === 0) await flush(chunk.subarray(0, filled));
    if (!m) {
      m = newManifest(url, loaded, info.etag, chunkSize);
      await persistManifest(store, m);
      for (const [i, bytes] of waiting.entries()) await store1(m, i, bytes);
    }
    m.complete = true;
    await persistManifest(store, m);
    report(true);
    return m;
  } finally {
    release();
  }
}
