import {
  cacheUsage,
  createEngine,
  type GenerateOptions,
  isEdgeLMError,
  listCachedModels,
  persistCache,
  prefetchModel,
} from '@edgelm/sdk';
import { cachedUrlSource, createWeightStore } from '@edgelm/sdk/cache';

/** Everything crosses page.evaluate as JSON, errors included. */
export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; code: string; message: string; details: unknown };

export interface LoadReport {
  fromCache: boolean;
  size: number;
  /** SHA-256 hex of every byte read through the source, read in 100 000-byte pieces. */
  sha256: string;
  repairs: number;
  progressEvents: number;
  lastProgress: { loaded: number; total: number; cached: boolean } | null;
}

export interface LoadOptions {
  store?: string;
  chunkSize?: number;
  maxBytes?: number;
  concurrency?: number;
  retries?: number;
}

export interface GenerateReport {
  text: string;
  cached: boolean;
  responseCacheHits: number;
  downloadCached: boolean | undefined;
}

declare global {
  interface Window {
    cacheHarness: typeof harness;
  }
}

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (isEdgeLMError(e)) return { ok: false, code: e.code, message: e.message, details: e.details };
    return { ok: false, code: 'THROWN', message: String(e), details: null };
  }
}

const store = (o: LoadOptions) =>
  createWeightStore({ name: o.store ?? 'edgelm-weights', maxBytes: o.maxBytes });

async function digest(parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function idbRequest<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
}

const harness = {
  /** Opens `url` through the weight cache and reads it all back, piece by piece. */
  load(url: string, o: LoadOptions = {}): Promise<Outcome<LoadReport>> {
    return outcome(async () => {
      let progressEvents = 0;
      let lastProgress: LoadReport['lastProgress'] = null;
      const source = await cachedUrlSource(new URL(url, location.href).href, {
        store: store(o),
        chunkSize: o.chunkSize,
        concurrency: o.concurrency,
        retries: o.retries,
        onProgress: (p) => {
          progressEvents++;
          lastProgress = p;
        },
      });
      const parts: Uint8Array[] = [];
      for (let at = 0; at < source.size; at += 100_000) {
        parts.push((await source.read(at, Math.min(100_000, source.size - at))).slice());
      }
      return {
        fromCache: source.fromCache,
        size: source.size,
        sha256: await digest(parts),
        repairs: source.repairs,
        progressEvents,
        lastProgress,
      };
    });
  },

  prefetch(url: string, o: LoadOptions = {}) {
    return outcome(() =>
      prefetchModel(new URL(url, location.href).href, { store: store(o), chunkSize: o.chunkSize }),
    );
  },

  list(o: LoadOptions = {}) {
    return listCachedModels(store(o));
  },

  usage(o: LoadOptions = {}) {
    return cacheUsage(store(o));
  },

  persist() {
    return persistCache();
  },

  /** Flips one bit of a stored chunk, behind the cache's back (raw IndexedDB). */
  async corrupt(url: string, chunk: number, byte: number, o: LoadOptions = {}): Promise<void> {
    const id = new URL(url, location.href).href;
    const db = await idbRequest(indexedDB.open(`${o.store ?? 'edgelm-weights'}-chunks`));
    const tx = db.transaction('chunks', 'readwrite');
    const chunks = tx.objectStore('chunks');
    const data = await idbRequest(chunks.get([id, chunk]) as IDBRequest<ArrayBuffer | undefined>);
    if (!data) throw new Error(`chunk ${chunk} of ${id} is not stored`);
    const bytes = new Uint8Array(data);
    bytes[byte] ^= 0x10;
    await idbRequest(chunks.put(bytes.buffer, [id, chunk]));
    db.close();
  },

  /**
   * Loads stories260K in the SDK's worker (weights through the default weight store, answers
   * through the engine's own IndexedDB response cache) and generates.
   */
  generate(prompt: string, options: GenerateOptions = {}): Promise<Outcome<GenerateReport>> {
    return outcome(async () => {
      let downloadCached: boolean | undefined;
      const engine = await createEngine({
        model: new URL('/models/stories260K.bin', location.href).href,
        tokenizer: new URL('/models/tok512.bin', location.href).href,
        backend: 'cpu',
        worker: new Worker('/harness/engine-worker.js', { type: 'module' }),
        onProgress: (p) => {
          if (p.phase === 'download') downloadCached = p.cached;
        },
      });
      try {
        const stream = engine.generate(prompt, options);
        let streamed = '';
        for await (const c of stream) streamed += c.text;
        const result = await stream.result;
        if (result.text !== streamed) throw new Error('streamed text differs from the result');
        const { responseCacheHits } = await engine.stats();
        return { text: result.text, cached: result.cached, responseCacheHits, downloadCached };
      } finally {
        await engine.unload();
      }
    });
  },

  async estimate() {
    const { usage = 0, quota = 0 } = await navigator.storage.estimate();
    return { usage, quota };
  },
};

window.cacheHarness = harness;
