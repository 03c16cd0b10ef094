import { EdgeLMError } from '../errors.js';
import { sha256Hex } from './digest.js';
import { chunkSpan, type ModelManifest, missingChunks, storedBytes } from './manifest.js';
import { persistManifest, storeChunk } from './quota.js';
import { fetchRange } from './range-fetch.js';
import type { WeightStore } from './weight-store.js';

/** Download progress: `cached` is true when every byte came from the store. */
export interface CacheProgress {
  loaded: number;
  total: number;
  cached: boolean;
}

export interface DownloadOptions {
  fetch: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: CacheProgress) => void;
  /** Chunks in flight at once. */
  concurrency: number;
  /** Extra attempts per chunk after a network failure, with exponential backoff. */
  retries: number;
}

const PROGRESS_INTERVAL_MS = 100;

/**
 * Fetches every chunk that `m` lacks, a few at a time, verifying and storing each one; the
 * manifest is saved after each chunk, so an interrupted download resumes where it stopped.
 * On the first unrecoverable failure the other fetches are aborted and the error is thrown
 * once they have settled, so the stored state is consistent when the caller sees it.
 */
export async function downloadMissing(
  store: WeightStore,
  m: ModelManifest,
  opts: DownloadOptions,
): Promise<void> {
  const queue = missingChunks(m);
  const inFlight = new Map<number, number>();
  let loaded = storedBytes(m);
  let lastReport = 0;
  const report = (force: boolean): void => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    let partial = 0;
    for (const n of inFlight.values()) partial += n;
    opts.onProgress({ loaded: loaded + partial, total: m.size, cached: false });
  };
  report(true);

  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  let failure: unknown;

  const fetchOne = async (index: number): Promise<void> => {
    const [start, length] = chunkSpan(m, index);
    for (let attempt = 0; ; attempt++) {
      inFlight.set(index, 0);
      try {
        const bytes = await fetchRange(m.url, start, length, m.size, opts.fetch, stop.signal, (n) => {
          inFlight.set(index, (inFlight.get(index) ?? 0) + n);
          report(false);
        });
        const digest = await sha256Hex(bytes);
        await storeChunk(store, m, index, bytes, digest);
        inFlight.delete(index);
        loaded += length;
        await persistManifest(store, m);
        report(true);
        return;
      } catch (e) {
        inFlight.delete(index);
        const retriable = e instanceof EdgeLMError && e.code === 'NETWORK' && !stop.signal.aborted;
        if (!retriable || attempt >= opts.retries) throw e;
        await sleep(250 * 2 ** attempt, stop.signal);
      }
    }
  };

  const worker = async (): Promise<void> => {
    while (failure === undefined && !stop.signal.aborted) {
      const index = queue.shift();
      if (index === undefined) return;
      try {
        await fetchOne(index);
      } catch (e) {
        failure ??= e;
        stop.abort();
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted && (failure === undefined || isAbort(failure))) {
    throw new EdgeLMError('ABORTED', `Download of ${m.url} aborted`, { url: m.url });
  }
  if (failure !== undefined) throw failure;
  m.complete = missingChunks(m).length === 0;
  await persistManifest(store, m);
}

function isAbort(e: unknown): boolean {
  return e instanceof EdgeLMError && e.code === 'ABORTED';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
