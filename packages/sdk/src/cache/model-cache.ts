import { EdgeLMError } from '../errors.js';
import { type CachedSource, openCachedSource } from './cached-source.js';
import { type CacheProgress, downloadMissing } from './download.js';
import { type CachedModelInfo, describe, type ModelManifest, newManifest, storedBytes } from './manifest.js';
import { persistManifest, storageEstimate } from './quota.js';
import { probeFile } from './range-fetch.js';
import {
  defaultWeightStore,
  hold,
  readManifest,
  readManifests,
  removeModel,
  saveManifest,
  type WeightStore,
} from './weight-store.js';
import { downloadWhole } from './whole-download.js';

/** Options of {@link cachedUrlSource} and {@link prefetchModel}. */
export interface CachedUrlSourceOptions {
  store?: WeightStore;
  onProgress?: (p: CacheProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Bytes per chunk for a new download (default 4 MiB); a resumed one keeps its own. */
  chunkSize?: number;
  /** Range requests in flight at once (default 3). */
  concurrency?: number;
  /** Extra attempts per chunk after a network error (default 2). */
  retries?: number;
  /** Verified chunks kept in memory by the source (default 2). */
  memoryChunks?: number;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;

/**
 * Opens a model URL through the weight store: a complete cached copy opens without any network
 * request; otherwise only the missing chunks are downloaded (Range requests, verified, stored)
 * before the source is returned. Reads come from IndexedDB a chunk at a time, so the file is
 * never held whole in memory.
 *
 * @example
 * ```ts
 * const source = await cachedUrlSource('https://host/stories260K.bin', {
 *   onProgress: ({ loaded, total, cached }) => bar.update(loaded / total, cached),
 * });
 * const model = await openModel(source);
 * ```
 */
export async function cachedUrlSource(
  url: string,
  options: CachedUrlSourceOptions = {},
): Promise<CachedSource> {
  const store = options.store ?? defaultWeightStore();
  const { manifest, fromCache } = await ensureComplete(store, absoluteUrl(url), options);
  return openCachedSource(store, manifest, {
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    memoryChunks: options.memoryChunks ?? 2,
    fromCache,
  });
}

/**
 * Downloads a model into the store without opening it (for "download for offline use").
 *
 * @example
 * ```ts
 * await prefetchModel(url, { onProgress: (p) => console.log(p.loaded, p.total) });
 * ```
 */
export async function prefetchModel(
  url: string,
  options: CachedUrlSourceOptions = {},
): Promise<CachedModelInfo> {
  const store = options.store ?? defaultWeightStore();
  return describe((await ensureComplete(store, absoluteUrl(url), options)).manifest);
}

/** Every model in the store, complete or not, most recently used first. */
export async function listCachedModels(
  store: WeightStore = defaultWeightStore(),
): Promise<CachedModelInfo[]> {
  return (await readManifests(store)).sort((a, b) => b.lastUsed - a.lastUsed).map(describe);
}

/** Removes a model and its chunks; false when it was not cached. */
export async function deleteCachedModel(
  id: string,
  store: WeightStore = defaultWeightStore(),
): Promise<boolean> {
  const key = absoluteUrl(id);
  if (store.busy.has(key)) {
    throw new EdgeLMError('INVALID_ARGUMENT', `${key} is being downloaded; abort that first`, { id: key });
  }
  const existed = (await readManifest(store, key)) !== undefined;
  await removeModel(store, key);
  return existed;
}

/** Bytes held by the store, with the browser's estimate of the whole origin where it has one. */
export interface CacheUsage {
  models: number;
  bytes: number;
  /** `navigator.storage.estimate()`: everything the origin stores, and its quota. */
  estimate?: { usage: number; quota: number };
}

export async function cacheUsage(store: WeightStore = defaultWeightStore()): Promise<CacheUsage> {
  const manifests = await readManifests(store);
  const usage: CacheUsage = {
    models: manifests.length,
    bytes: manifests.reduce((n, m) => n + storedBytes(m), 0),
  };
  const estimate = await storageEstimate();
  if (estimate) usage.estimate = estimate;
  return usage;
}

/**
 * Asks the browser to keep the origin's storage under pressure (`navigator.storage.persist()`);
 * false where it declines or the call does not exist (workers, Node).
 */
export async function persistCache(): Promise<boolean> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.persist !== 'function') return false;
  try {
    return await storage.persist();
  } catch {
    return false;
  }
}

/** Concurrent opens of one model share one download; each caller still gets progress. */
const downloads = new WeakMap<WeightStore, Map<string, Download>>();

interface Download {
  done: Promise<ModelManifest>;
  listeners: Set<(p: CacheProgress) => void>;
}

async function ensureComplete(
  store: WeightStore,
  url: string,
  options: CachedUrlSourceOptions,
): Promise<{ manifest: ModelManifest; fromCache: boolean }> {
  const stored = await readManifest(store, url);
  if (stored?.complete) {
    stored.lastUsed = Date.now();
    // Only the LRU order depends on this write; a full disk must not stop a cached model opening.
    await saveManifest(store, stored).catch(() => {});
    options.onProgress?.({ loaded: stored.size, total: stored.size, cached: true });
    return { manifest: stored, fromCache: true };
  }
  let perStore = downloads.get(store);
  if (!perStore) {
    perStore = new Map();
    downloads.set(store, perStore);
  }
  let download = perStore.get(url);
  if (!download) {
    const listeners = new Set<(p: CacheProgress) => void>();
    const done = fetchModel(store, url, stored, options, (p) => {
      for (const l of listeners) l(p);
    });
    download = { done, listeners };
    perStore.set(url, download);
    const map = perStore;
    void done.finally(() => map.delete(url)).catch(() => {});
  }
  const { onProgress } = options;
  if (onProgress) download.listeners.add(onProgress);
  try {
    return { manifest: await download.done, fromCache: false };
  } finally {
    if (onProgress) download.listeners.delete(onProgress);
  }
}

async function fetchModel(
  store: WeightStore,
  url: string,
  stored: ModelManifest | undefined,
  options: CachedUrlSourceOptions,
  onProgress: (p: CacheProgress) => void,
): Promise<ModelManifest> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const remote = await probeFile(url, doFetch, options.signal);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    await (remote.ranges ? undefined : remote.response.body?.cancel().catch(() => {}));
    throw new EdgeLMError('INVALID_ARGUMENT', `chunkSize must be a positive integer`, { chunkSize });
  }
  if (!remote.ranges) {
    // No Range support: the probe's answer is the whole file, the one download there will be. A
    // partial copy from earlier cannot be completed by ranges, so it is replaced.
    if (stored) await removeModel(store, url);
    return downloadWhole(store, url, remote.response, remote, { chunkSize, onProgress });
  }
  let m = stored;
  if (m && (m.size !== remote.size || m.etag !== remote.etag)) {
    // The file changed since the partial download: its chunks cannot be mixed with the new ones.
    await removeModel(store, url);
    m = undefined;
  }
  m ??= newManifest(url, remote.size, remote.etag, chunkSize);
  m.lastUsed = Date.now();
  const release = hold(store, m);
  try {
    await persistManifest(store, m);
    await downloadMissing(store, m, {
      fetch: doFetch,
      signal: options.signal,
      onProgress,
      concurrency: options.concurrency ?? 3,
      retries: options.retries ?? 2,
    });
    return m;
  } finally {
    release();
  }
}

/** Ids are absolute URLs, so "./m.bin" and "http://host/m.bin" are one model. */
function absoluteUrl(url: string): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch (e) {
    throw new EdgeLMError('INVALID_ARGUMENT', `Not a URL: ${url}`, { url }, e);
  }
}
