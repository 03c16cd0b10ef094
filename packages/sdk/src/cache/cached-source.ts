import { EdgeLMError } from '../errors.js';
import type { ByteSource } from '../formats/byte-source.js';
import { sha256Hex } from './digest.js';
import { chunkSpan, type ModelManifest } from './manifest.js';
import { persistManifest, storeChunk } from './quota.js';
import { fetchRange } from './range-fetch.js';
import {
  deleteChunk,
  hold,
  readChunk,
  readManifest,
  saveManifest,
  type WeightStore,
} from './weight-store.js';

/** A model file read from the weight store. */
export interface CachedSource extends ByteSource {
  /** The model's id in the store (its absolute URL). */
  readonly id: string;
  /** True when nothing had to be downloaded to open it. */
  readonly fromCache: boolean;
  /** Chunks found corrupt or missing on read and fetched again since the source was opened. */
  readonly repairs: number;
}

export interface CachedSourceOptions {
  fetch: typeof fetch;
  /** Verified chunks kept in memory (default 2): enough for a loader reading tensors in order. */
  memoryChunks: number;
  fromCache: boolean;
}

/**
 * A ByteSource over the chunks of a complete model. Each chunk is checked against its manifest
 * digest when it leaves IndexedDB; one that fails (a flipped bit, a chunk that went missing) is
 * dropped and fetched again, and must then match the recorded digest. Offline, or when the
 * server's copy differs, the read fails with INTEGRITY instead of returning other bytes.
 */
export function openCachedSource(
  store: WeightStore,
  m: ModelManifest,
  opts: CachedSourceOptions,
): CachedSource {
  const memory = new Map<number, Uint8Array>();
  const pending = new Map<number, Promise<Uint8Array>>();
  let repairs = 0;

  const remember = (index: number, bytes: Uint8Array): void => {
    memory.delete(index);
    memory.set(index, bytes);
    while (memory.size > Math.max(1, opts.memoryChunks)) memory.delete(memory.keys().next().value as number);
  };

  const repair = async (
    index: number,
    expected: string,
    reason: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array> => {
    const release = hold(store, m);
    try {
      await deleteChunk(store, m.id, index);
      const [start, length] = chunkSpan(m, index);
      let bytes: Uint8Array;
      try {
        bytes = await fetchRange(m.url, start, length, m.size, opts.fetch, signal);
      } catch (e) {
        await forget(index);
        throw new EdgeLMError(
          'INTEGRITY',
          `Chunk ${index} of ${m.url} is ${reason} and could not be fetched again`,
          { url: m.url, chunk: index },
          e,
        );
      }
      if ((await sha256Hex(bytes)) !== expected) {
        await forget(index);
        throw new EdgeLMError('INTEGRITY', `Chunk ${index} of ${m.url} differs from the cached file's`, {
          url: m.url,
          chunk: index,
        });
      }
      repairs++;
      // The bytes are verified, so they are served even when they cannot be stored again:
      // the model was deleted or evicted meanwhile (storing would bring back a manifest that
      // claims chunks it no longer has), or the disk is full.
      if (!(await stillStored())) return bytes;
      try {
        await storeChunk(store, m, index, bytes, expected);
        await persistManifest(store, m);
      } catch {
        await forget(index);
      }
      return bytes;
    } finally {
      release();
    }
  };

  // Without the chunk the model is no longer complete; the next open resumes the download.
  const forget = async (index: number): Promise<void> => {
    m.digests[index] = null;
    m.complete = false;
    if (await stillStored()) await saveManifest(store, m).catch(() => {});
  };

  const stillStored = async (): Promise<boolean> => {
    const current = await readManifest(store, m.id).catch(() => undefined);
    return current !== undefined && current.created === m.created;
  };

  const load = async (index: number, signal?: AbortSignal): Promise<Uint8Array> => {
    const expected = m.digests[index];
    if (expected === null) {
      throw new EdgeLMError('INTEGRITY', `Chunk ${index} of ${m.url} is no longer stored`, {
        url: m.url,
        chunk: index,
      });
    }
    const stored = await readChunk(store, m.id, index);
    if (stored === undefined) return repair(index, expected, 'missing', signal);
    const bytes = new Uint8Array(stored);
    if (bytes.byteLength !== chunkSpan(m, index)[1] || (await sha256Hex(bytes)) !== expected) {
      return repair(index, expected, 'corrupt', signal);
    }
    return bytes;
  };

  const chunk = (index: number, signal?: AbortSignal): Promise<Uint8Array> => {
    const hit = memory.get(index);
    if (hit) {
      remember(index, hit);
      return Promise.resolve(hit);
    }
    const p = pending.get(index) ?? fetchInto(index, signal);
    // Loaders read in file order: fetch and verify the next chunk while this one is consumed.
    const next = index + 1;
    if (next < m.digests.length && !memory.has(next) && !pending.has(next)) {
      fetchInto(next).catch(() => {}); // a real read of it reports any error
    }
    return p;
  };

  const fetchInto = (index: number, signal?: AbortSignal): Promise<Uint8Array> => {
    let p = pending.get(index);
    if (!p) {
      p = load(index, signal).then(
        (bytes) => {
          pending.delete(index);
          remember(index, bytes);
          return bytes;
        },
        (e: unknown) => {
          pending.delete(index);
          throw e;
        },
      );
      pending.set(index, p);
    }
    return p;
  };

  return {
    id: m.id,
    name: m.url,
    size: m.size,
    fromCache: opts.fromCache,
    get repairs() {
      return repairs;
    },
    async read(offset, length, signal) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw new EdgeLMError('CORRUPT', `Invalid read of ${length} bytes at ${offset} in ${m.url}`, {
          offset,
          length,
        });
      }
      if (offset + length > m.size) {
        throw new EdgeLMError('TRUNCATED', `${m.url} ends at byte ${m.size}, wanted ${offset + length}`, {
          size: m.size,
          wanted: offset + length,
        });
      }
      if (length === 0) return new Uint8Array(0);
      const first = Math.floor(offset / m.chunkSize);
      const last = Math.floor((offset + length - 1) / m.chunkSize);
      if (first === last) {
        const bytes = await chunk(first, signal);
        const at = offset - first * m.chunkSize;
        return bytes.subarray(at, at + length);
      }
      const out = new Uint8Array(length);
      for (let i = first; i <= last; i++) {
        const bytes = await chunk(i, signal);
        const chunkStart = i * m.chunkSize;
        const from = Math.max(offset, chunkStart);
        const to = Math.min(offset + length, chunkStart + bytes.byteLength);
        out.set(bytes.subarray(from - chunkStart, to - chunkStart), from - offset);
      }
      return out;
    },
  };
}
