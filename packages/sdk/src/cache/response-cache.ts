import { clear, createStore, del, entries, get, set } from 'idb-keyval';
import type { GenerateChunk, GenerateResult } from '../api/types.js';
import { EdgeLMError } from '../errors.js';
import { storage } from './weight-store.js';

/** A stored answer: the streamed chunks and the final summary of the original generation. */
export interface ResponseEntry {
  chunks: GenerateChunk[];
  result: GenerateResult;
  /** Milliseconds since the epoch. */
  created: number;
  lastUsed: number;
  /** Approximate bytes held (the UTF-16 size of its JSON form). */
  size: number;
}

export interface ResponseCacheOptions {
  /** `'indexeddb'` (default where IndexedDB exists) survives reloads; `'memory'` lives and dies with the cache. */
  storage?: 'indexeddb' | 'memory';
  /** IndexedDB database name (default `'edgelm-responses'`). */
  name?: string;
  /** Byte budget; least recently used entries go first (default 16 MiB). */
  maxBytes?: number;
  /** Entries older than this are misses (default 7 days). */
  ttlMs?: number;
}

export interface ResponseCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
  maxBytes: number;
}

interface EntryStore {
  get(key: string): Promise<ResponseEntry | undefined>;
  set(key: string, entry: ResponseEntry): Promise<void>;
  del(key: string): Promise<void>;
  all(): Promise<[string, ResponseEntry][]>;
  clear(): Promise<void>;
}

type Meta = Pick<ResponseEntry, 'size' | 'created' | 'lastUsed'>;

/**
 * Answers to repeated deterministic requests, keyed by {@link responseCacheKey}. The index of
 * sizes and use times is kept in memory (read once from IndexedDB), so a miss costs no I/O and
 * a hit one read. Other tabs sharing the database are seen only at the next load.
 *
 * @example
 * ```ts
 * const cache = new ResponseCache({ maxBytes: 4 << 20 });
 * const hit = await cache.get(key);
 * if (!hit) await cache.put(key, { chunks, result });
 * ```
 */
export class ResponseCache {
  readonly maxBytes: number;
  readonly ttlMs: number;
  private readonly store: EntryStore;
  private index: Map<string, Meta> | undefined;
  private loading: Promise<Map<string, Meta>> | undefined;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(options: ResponseCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.ttlMs = options.ttlMs ?? 7 * 24 * 3600 * 1000;
    if (!(this.maxBytes >= 0) || !(this.ttlMs >= 0)) {
      throw new EdgeLMError('INVALID_ARGUMENT', 'maxBytes and ttlMs must be non-negative', {
        maxBytes: this.maxBytes,
        ttlMs: this.ttlMs,
      });
    }
    const kind = options.storage ?? (typeof indexedDB === 'undefined' ? 'memory' : 'indexeddb');
    this.store = kind === 'memory' ? memoryStore() : idbStore(options.name ?? 'edgelm-responses');
  }

  /** The entry for `key`, or undefined (counted as a miss) when absent or expired. */
  async get(key: string): Promise<ResponseEntry | undefined> {
    const index = await this.ready();
    const meta = index.get(key);
    const now = Date.now();
    if (meta && now - meta.created > this.ttlMs) await this.remove(key);
    else if (meta) {
      const entry = await this.store.get(key);
      if (entry) {
        this.hits++;
        meta.lastUsed = now;
        entry.lastUsed = now;
        // Only the use time changes; losing this write costs LRU precision, not correctness.
        this.store.set(key, entry).catch(() => {});
        return entry;
      }
      this.forget(key);
    }
    this.misses++;
    return undefined;
  }

  /**
   * Stores an answer, evicting least recently used entries beyond the byte budget. An answer
   * larger than the whole budget is not stored (undefined is returned).
   */
  async put(
    key: string,
    value: { chunks: GenerateChunk[]; result: GenerateResult },
  ): Promise<ResponseEntry | undefined> {
    const index = await this.ready();
    const now = Date.now();
    const chunks = value.chunks.map(({ text, token }) => ({ text, token }));
    const result = { ...value.result, cached: false };
    const size = 2 * JSON.stringify({ chunks, result }).length;
    if (size > this.maxBytes) return undefined;
    const entry: ResponseEntry = { chunks, result, created: now, lastUsed: now, size };
    if (index.has(key)) await this.remove(key);
    while (this.bytes + size > this.maxBytes) {
      let oldest: string | undefined;
      let oldestUse = Number.POSITIVE_INFINITY;
      for (const [k, m] of index) {
        if (m.lastUsed < oldestUse) {
          oldest = k;
          oldestUse = m.lastUsed;
        }
      }
      if (oldest === undefined) break;
      await this.remove(oldest);
      this.evictions++;
    }
    await this.store.set(key, entry);
    index.set(key, { size, created: now, lastUsed: now });
    this.bytes += size;
    return entry;
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    await this.remove(key);
  }

  /** Drops every entry and resets the counters. */
  async clear(): Promise<void> {
    await this.ready();
    await this.store.clear();
    this.index = new Map();
    this.bytes = this.hits = this.misses = this.evictions = 0;
  }

  stats(): ResponseCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      entries: this.index?.size ?? 0,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
    };
  }

  private ready(): Promise<Map<string, Meta>> {
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= this.store.all().then((all) => {
      const index = new Map<string, Meta>();
      for (const [key, e] of all) {
        index.set(key, { size: e.size, created: e.created, lastUsed: e.lastUsed });
        this.bytes += e.size;
      }
      this.index = index;
      return index;
    });
    return this.loading;
  }

  private async remove(key: string): Promise<void> {
    await this.store.del(key);
    this.forget(key);
  }

  private forget(key: string): void {
    const meta = this.index?.get(key);
    if (!meta) return;
    this.bytes -= meta.size;
    this.index?.delete(key);
  }
}

function idbStore(name: string): EntryStore {
  const s = createStore(name, 'responses');
  return {
    get: (key) => storage(() => get<ResponseEntry>(key, s)),
    set: (key, entry) => storage(() => set(key, entry, s)),
    del: (key) => storage(() => del(key, s)),
    all: () => storage(() => entries<string, ResponseEntry>(s)),
    clear: () => storage(() => clear(s)),
  };
}

function memoryStore(): EntryStore {
  const map = new Map<string, ResponseEntry>();
  return {
    get: async (key) => map.get(key),
    set: async (key, entry) => void map.set(key, entry),
    del: async (key) => void map.delete(key),
    all: async () => [...map],
    clear: async () => map.clear(),
  };
}
