import type { LoadProgress } from '../../api/types.js';
import { cachedUrlSource } from '../../cache/index.js';
import { EdgeLMError } from '../../errors.js';
import { type ByteSource, blobSource, bytesSource, urlSource } from '../../formats/byte-source.js';

/**
 * Where a model (or its tokenizer) comes from: a URL, a File/Blob the user dropped, bytes in
 * memory, or any {@link ByteSource} (a Node file, a custom store).
 */
export type ModelInput = string | URL | Blob | ArrayBuffer | Uint8Array | ByteSource;

/** Options that decide how an input becomes a byte source. */
export interface ResolveOptions {
  /**
   * Keep URL downloads in the IndexedDB weight store (default: true where IndexedDB exists).
   * A cached model loads with no network request; an interrupted download resumes.
   */
  cacheWeights?: boolean;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && 'size' in x;
}

/** Turns a model input into a byte source, through the weight cache for URLs. */
export async function resolveInput(input: ModelInput, options: ResolveOptions = {}): Promise<ByteSource> {
  if (isByteSource(input)) return input;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return bytesSource(input);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return blobSource(input);
  if (typeof input === 'string' || input instanceof URL) {
    const url = String(input);
    const useCache = options.cacheWeights ?? typeof indexedDB !== 'undefined';
    if (useCache) {
      return cachedUrlSource(url, {
        fetch: options.fetch,
        signal: options.signal,
        onProgress: (p) =>
          options.onProgress?.({ phase: 'download', loaded: p.loaded, total: p.total, cached: p.cached }),
      });
    }
    const src = await urlSource(url, { fetch: options.fetch, signal: options.signal });
    options.onProgress?.({ phase: 'download', loaded: src.size, total: src.size });
    return src;
  }
  throw new EdgeLMError('INVALID_ARGUMENT', 'The model must be a URL, a Blob, bytes or a ByteSource');
}
