import { EdgeLMError } from '../errors.js';
import { chunkSpan, describe, type ModelManifest, storedBytes } from './manifest.js';
import {
  isQuotaError,
  readManifests,
  removeModel,
  saveManifest,
  type WeightStore,
  writeChunkRaw,
} from './weight-store.js';

/**
 * Stores chunk `index` of `m` and records its digest in `m`. When storage is full (the
 * browser's QuotaExceededError or the store's own `maxBytes`), evicts the least recently used
 * other model and tries again, until nothing else is left to evict.
 */
export async function storeChunk(
  store: WeightStore,
  m: ModelManifest,
  index: number,
  bytes: Uint8Array,
  digest: string,
): Promise<void> {
  const data = ownBuffer(bytes);
  // One writer at a time: the budget check, the write and any eviction it causes form one step,
  // otherwise two writers failing together would each evict a model.
  await locked(store, async () => {
    let evictedAny = false;
    let settle = 0;
    for (;;) {
      try {
        if (Number.isFinite(store.maxBytes)) {
          const used = await usedBytes(store);
          const replaced = m.digests[index] !== null ? data.byteLength : 0;
          if (used - replaced + data.byteLength > store.maxBytes) throw budgetError(store);
        }
        await writeChunkRaw(store, m.id, index, data);
        m.digests[index] = digest;
        return;
      } catch (e) {
        if (!isQuotaError(e)) {
          const message = e instanceof Error ? e.message : String(e);
          throw new EdgeLMError('STORAGE', `Cannot store a chunk of ${m.url}: ${message}`, { url: m.url }, e);
        }
        if (await evictLeastRecentlyUsed(store)) {
          evictedAny = true;
          continue;
        }
        // Browsers give back the space of deleted IndexedDB data lazily (compaction), so right
        // after an eviction the same write can still fail: wait a little before giving up.
        if (evictedAny && settle < 4) {
          await new Promise((r) => setTimeout(r, 100 * 3 ** settle++));
          continue;
        }
        throw await quotaExceeded(store, m, chunkSpan(m, index)[1], e);
      }
    }
  });
}

/**
 * Saves a manifest; a full disk refuses even these few bytes, so the same eviction applies.
 */
export async function persistManifest(store: WeightStore, m: ModelManifest): Promise<void> {
  for (;;) {
    try {
      return await saveManifest(store, m);
    } catch (e) {
      if (!(e instanceof EdgeLMError && e.code === 'QUOTA_EXCEEDED')) throw e;
      let evicted = false;
      await locked(store, async () => {
        evicted = await evictLeastRecentlyUsed(store);
      });
      // The refused write was about the size of the manifest's JSON.
      if (!evicted) throw await quotaExceeded(store, m, JSON.stringify(m).length, e);
    }
  }
}

/** Bytes held by all models of the store, counting chunks being written now. */
export async function usedBytes(store: WeightStore): Promise<number> {
  let total = 0;
  for (const m of await readManifests(store)) total += storedBytes(m);
  return total;
}

/** Evicts the model used longest ago that nobody is writing; false when there is none. */
export async function evictLeastRecentlyUsed(store: WeightStore): Promise<boolean> {
  const candidates = (await readManifests(store))
    .filter((m) => !store.busy.has(m.id))
    .sort((a, b) => a.lastUsed - b.lastUsed);
  const victim = candidates[0];
  if (!victim) return false;
  await removeModel(store, victim.id);
  store.onEvict?.(describe(victim));
  return true;
}

async function quotaExceeded(
  store: WeightStore,
  m: ModelManifest,
  refusedBytes: number,
  cause: unknown,
): Promise<EdgeLMError> {
  const needed = m.size - storedBytes(m);
  let available: number | null = null;
  if (Number.isFinite(store.maxBytes)) available = Math.max(0, store.maxBytes - (await usedBytes(store)));
  else {
    const estimate = await storageEstimate();
    // The estimate can be far off (Chromium reports its quota, not an override or the disk);
    // the refused write proves less than its size was left.
    if (estimate) available = Math.max(0, estimate.quota - estimate.usage);
    if (available === null || available >= refusedBytes) available = Math.max(0, refusedBytes - 1);
  }
  return new EdgeLMError(
    'QUOTA_EXCEEDED',
    `Not enough storage for ${m.url}: ${needed} more bytes needed, ${available ?? 'unknown'} available`,
    { url: m.url, needed, available, refusedBytes },
    cause,
  );
}

/** `navigator.storage.estimate()` where the platform has it (pages and workers, not Node). */
export async function storageEstimate(): Promise<{ usage: number; quota: number } | undefined> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (!storage?.estimate) return undefined;
  try {
    const { usage, quota } = await storage.estimate();
    if (usage === undefined || quota === undefined) return undefined;
    return { usage, quota };
  } catch {
    return undefined;
  }
}

function budgetError(store: WeightStore): Error {
  const e = new Error(`Weight store ${store.name} is over its budget of ${store.maxBytes} bytes`);
  e.name = 'QuotaExceededError';
  return e;
}

function locked(store: WeightStore, fn: () => Promise<void>): Promise<void> {
  const run = store.writeLock.then(fn);
  store.writeLock = run.catch(() => {});
  return run;
}

/** IndexedDB clones the whole underlying buffer, so a view into a larger one is copied out. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  )
    return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}
