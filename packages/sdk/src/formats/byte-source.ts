import { EdgeLMError } from '../errors.js';

/**
 * Random access to the bytes of a model file. Loaders read headers and then one tensor at a
 * time through this, so a file is never held twice in memory, whatever it lives in.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A short description for errors and progress ("stories260K.bin", a URL). */
  readonly name: string;
  /** Reads exactly `length` bytes at `offset`, or throws TRUNCATED when the source is shorter. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

function checkRange(src: { size: number; name: string }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new EdgeLMError('CORRUPT', `Invalid read of ${length} bytes at ${offset} in ${src.name}`, {
      offset,
      length,
    });
  }
  if (offset + length > src.size) {
    throw new EdgeLMError('TRUNCATED', `${src.name} ends at byte ${src.size}, wanted ${offset + length}`, {
      size: src.size,
      wanted: offset + length,
    });
  }
}

/** A source over bytes already in memory; reads are zero-copy views. */
export function bytesSource(data: ArrayBuffer | Uint8Array, name = 'buffer'): ByteSource {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return {
    size: bytes.byteLength,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A source over a Blob or File; reads slice it, so only what is read is in memory. */
export function blobSource(blob: Blob, name = (blob as File).name ?? 'blob'): ByteSource {
  return {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** Options for {@link urlSource}. */
export interface UrlSourceOptions {
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A source over an HTTP(S) URL read with Range requests. The size comes from a HEAD request
 * (or the Content-Range of a one-byte probe where HEAD is not allowed).
 */
export async function urlSource(url: string, options: UrlSourceOptions = {}): Promise<ByteSource> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const get = async (init: RequestInit): Promise<Response> => {
    try {
      return await doFetch(url, { ...init, headers: { ...options.headers, ...(init.headers as object) } });
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError')
        throw new EdgeLMError('ABORTED', 'Download aborted', { url });
      throw new EdgeLMError('NETWORK', `Cannot fetch ${url}: ${(e as Error).message}`, { url }, e);
    }
  };
  let size = -1;
  const probe = await get({ headers: { Range: 'bytes=0-0' }, signal: options.signal });
  if (probe.status === 404)
    throw new EdgeLMError('NOT_FOUND', `${url} was not found (404)`, { url, status: 404 });
  if (!probe.ok)
    throw new EdgeLMError('NETWORK', `${url} answered ${probe.status}`, { url, status: probe.status });
  const range = probe.headers.get('content-range');
  if (probe.status === 206 && range) size = Number(range.split('/')[1]);
  else size = Number(probe.headers.get('content-length') ?? -1);
  await probe.body?.cancel();
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new EdgeLMError('NETWORK', `${url} did not report its size`, { url });
  }
  return {
    size,
    name: url,
    async read(offset, length, signal) {
      checkRange({ size, name: url }, offset, length);
      if (length === 0) return new Uint8Array(0);
      const res = await get({
        headers: { Range: `bytes=${offset}-${offset + length - 1}` },
        signal: signal ?? options.signal,
      });
      if (res.status !== 206 && !(res.status === 200 && offset === 0 && length === size)) {
        throw new EdgeLMError('NETWORK', `${url} ignored a Range request (status ${res.status})`, {
          url,
          status: res.status,
        });
      }
      const buf = new Uint8Array(await res.arrayBuffer());
      if (buf.byteLength !== length) {
        throw new EdgeLMError('TRUNCATED', `${url} sent ${buf.byteLength} of ${length} bytes`, { url });
      }
      return buf;
    },
  };
}
