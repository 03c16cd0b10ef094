/**
 * What the weight store knows about one model file. Chunk `i` covers bytes
 * `[i * chunkSize, min((i + 1) * chunkSize, size))`; it counts as stored only once its bytes are
 * committed to IndexedDB, and its digest is what every later read is checked against.
 */
export interface ModelManifest {
  /** The absolute URL; one file, one entry. */
  id: string;
  url: string;
  /** Total bytes of the file. */
  size: number;
  /** The server's ETag when the download started; a different one means the file changed. */
  etag: string | null;
  chunkSize: number;
  /** SHA-256 hex of each stored chunk (index = chunk number); null while the chunk is missing. */
  digests: (string | null)[];
  /** True only when every chunk is stored and verified. */
  complete: boolean;
  /** Milliseconds since the epoch. */
  created: number;
  lastUsed: number;
}

/** The public summary of a cached model, as `listCachedModels()` returns it. */
export interface CachedModelInfo {
  id: string;
  url: string;
  size: number;
  storedBytes: number;
  complete: boolean;
  chunks: number;
  chunkSize: number;
  etag: string | null;
  created: number;
  lastUsed: number;
}

export function newManifest(
  url: string,
  size: number,
  etag: string | null,
  chunkSize: number,
): ModelManifest {
  const now = Date.now();
  return {
    id: url,
    url,
    size,
    etag,
    chunkSize,
    digests: new Array<string | null>(chunkCount(size, chunkSize)).fill(null),
    complete: false,
    created: now,
    lastUsed: now,
  };
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** Byte offset and length of chunk `index`. */
export function chunkSpan(m: Pick<ModelManifest, 'size' | 'chunkSize'>, index: number): [number, number] {
  const start = index * m.chunkSize;
  return [start, Math.min(m.chunkSize, m.size - start)];
}

export function storedBytes(m: ModelManifest): number {
  let total = 0;
  for (let i = 0; i < m.digests.length; i++) if (m.digests[i] !== null) total += chunkSpan(m, i)[1];
  return total;
}

export function missingChunks(m: ModelManifest): number[] {
  const out: number[] = [];
  for (let i = 0; i < m.digests.length; i++) if (m.digests[i] === null) out.push(i);
  return out;
}

export function describe(m: ModelManifest): CachedModelInfo {
  return {
    id: m.id,
    url: m.url,
    size: m.size,
    storedBytes: storedBytes(m),
    complete: m.complete,
    chunks: m.digests.length,
    chunkSize: m.chunkSize,
    etag: m.etag,
    created: m.created,
    lastUsed: m.lastUsed,
  };
}
