import { createStore, del, get, promisifyRequest, set, type UseStore, values } from 'idb-keyval';
import { EdgeLMError } from '../errors.js';
import type { CachedModelInfo, ModelManifest } from './manifest.js';

/** Options of {@link createWeightStore}. */
export interface WeightStoreOptions {
  /** Prefix of the two IndexedDB databases (default `'edgelm-weights'`). */
  name?: string;
  /**
   * A byte budget for this store. A write that would pass it is treated exactly like the
   * browser's QuotaExceededError: least-recently-used models are evicted first.
   */
  maxBytes?: number;
  /** Told about every model evicted to make room. */
  onEvict?: (model: CachedModelInfo) => void;
  /**
   * The idb-keyval stores to use instead of `createStore(name + '-manifests' | '-chunks', …)`.
   * Tests wrap them to inject failures such as a QuotaExceededError.
   */
  manifests?: UseStore;
  chunks?: UseStore;
}

/**
 * Where model weights live: manifests and chunks in two idb-keyval stores (idb-keyval gives one
 * object store per database). Chunk keys are `[modelId, index]`, so one key range holds a model.
 */
export interface WeightStore {
  readonly name: string;
  readonly manifests: UseStore;
  readonly chunks: UseStore;
  readonly maxBytes: number;
  readonly onEvict?: (model: CachedModelInfo) => void;
  /** Models being written right now, with a count of writers; eviction never picks these. */
  readonly busy: Map<string, number>;
  /** Manifests held by writers, newer than their stored copies until the next save lands. */
  readonly live: Map<string, ModelManifest>;
  /** Serialises chunk writes so that the byte budget check and the write are one step. */
  writeLock: Promise<void>;
  /** Serialises manifest saves per model so that a late save never overwrites a newer one. */
  readonly saving: Map<string, Promise<void>>;
}

/**
 * Creates a weight store; most callers use the default one that every function falls back to.
 *
 * @example
 * ```ts
 * const store = createWeightStore({ maxBytes: 2 ** 30 });
 * const source = await cachedUrlSource(url, { store });
 * ```
 */
export function createWeightStore(options: WeightStoreOptions = {}): WeightStore {
  const name = options.name ?? 'edgelm-weights';
  if (options.maxBytes !== undefined && !(options.maxBytes >= 0)) {
    throw new EdgeLMError('INVALID_ARGUMENT', `maxBytes must be a non-negative number`, {
      maxBytes: options.maxBytes,
    });
  }
  if ((!options.manifests || !options.chunks) && typeof indexedDB === 'undefined') {
    throw new EdgeLMError('STORAGE', 'IndexedDB is not available here, so models cannot be cached');
  }
  return {
    name,
    manifests: options.manifests ?? createStore(`${name}-manifests`, 'manifests'),
    chunks: options.chunks ?? createStore(`${name}-chunks`, 'chunks'),
    maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
    onEvict: options.onEvict,
    busy: new Map(),
    live: new Map(),
    writeLock: Promise.resolve(),
    saving: new Map(),
  };
}

let defaultStore: WeightStore | undefined;

/** The store used when none is passed: databases `edgelm-weights-manifests` and `-chunks`. */
export function defaultWeightStore(): WeightStore {
  defaultStore ??= createWeightStore();
  return defaultStore;
}

export function readManifest(store: WeightStore, id: string): Promise<ModelManifest | undefined> {
  return storage(() => get<ModelManifest>(id, store.manifests));
}

/** Every manifest, with the in-memory copy of models being written in place of the stored one. */
export async function readManifests(store: WeightStore): Promise<ModelManifest[]> {
  const stored = await storage(() => values<ModelManifest>(store.manifests));
  const byId = new Map(stored.map((m) => [m.id, m]));
  for (const [id, m] of store.live) byId.set(id, m);
  return [...byId.values()];
}

/** Queues a save of `m` after any earlier save of the same model; resolves when it lands. */
export function saveManifest(store: WeightStore, m: ModelManifest): Promise<void> {
  const previous = store.saving.get(m.id) ?? Promise.resolve();
  // structuredClone at write time, so the saved copy is the state when this save runs.
  const next = previous.catch(() => {}).then(() => storage(() => set(m.id, m, store.manifests)));
  store.saving.set(m.id, next);
  const settle = (): void => {
    if (store.saving.get(m.id) === next) store.saving.delete(m.id);
  };
  next.then(settle, settle);
  return next;
}

export function readChunk(store: WeightStore, id: string, index: number): Promise<ArrayBuffer | undefined> {
  return storage(() => get<ArrayBuffer>([id, index], store.chunks));
}

/** Writes one chunk; errors come back untouched so that quota handling can recognise them. */
export function writeChunkRaw(
  store: WeightStore,
  id: string,
  index: number,
  data: ArrayBuffer,
): Promise<void> {
  return set([id, index], data, store.chunks);
}

export function deleteChunk(store: WeightStore, id: string, index: number): Promise<void> {
  return storage(() => del([id, index], store.chunks));
}

/**
 * Removes a model: the manifest first, so that nothing can present the model as cached while
 * its chunks go; then every chunk key `[id, *]` in one range delete (also chunks a crash left).
 */
export async function removeModel(store: WeightStore, id: string): Promise<void> {
  await (store.saving.get(id) ?? Promise.resolve()).catch(() => {});
  await storage(() => del(id, store.manifests));
  await storage(() =>
    store.chunks('readwrite', (s) => {
      // Array keys sort after numbers, so [id, []] bounds every [id, index].
      s.delete(IDBKeyRange.bound([id], [id, []]));
      return promisifyRequest(s.transaction);
    }),
  );
}

/** Runs an IndexedDB operation, reporting a full disk as QUOTA_EXCEEDED and other failures as STORAGE. */
export async function storage<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (e instanceof EdgeLMError) throw e;
    // Chromium's transaction errors often have an empty message; the name says what happened.
    const message = e instanceof Error ? [e.name, e.message].filter(Boolean).join(': ') : String(e);
    if (isQuotaError(e)) throw new EdgeLMError('QUOTA_EXCEEDED', `Storage is full: ${message}`, {}, e);
    throw new EdgeLMError('STORAGE', `IndexedDB failed: ${message}`, {}, e);
  }
}

/** Browsers name it differently; old Firefox used its own name, old WebKit only the legacy code. */
export function isQuotaError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22;
}

/**
 * Marks a model as being written (never evicted meanwhile) and registers its in-memory
 * manifest for byte accounting. Returns the release function.
 */
export function hold(store: WeightStore, m: ModelManifest): () => void {
  store.busy.set(m.id, (store.busy.get(m.id) ?? 0) + 1);
  store.live.set(m.id, m);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (store.busy.get(m.id) ?? 1) - 1;
    if (n > 0) return void store.busy.set(m.id, n);
    store.busy.delete(m.id);
    if (store.live.get(m.id) === m) store.live.delete(m.id);
  };
}
