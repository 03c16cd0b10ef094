import { EdgeLMError } from '../errors.js';

/** What a one-byte Range probe tells about a remote file. */
export type RemoteFileInfo =
  | { ranges: true; size: number; etag: string | null }
  /**
   * The server ignored the Range header and is sending the whole file: `response` is that one
   * plain download, body unread; `size` is its Content-Length when the server sent one.
   */
  | { ranges: false; size: number | undefined; etag: string | null; response: Response };

/**
 * Asks for byte 0 only: the Content-Range gives the size even where HEAD is not allowed, and
 * the answer carries the ETag that later tells whether the file changed. A server without Range
 * support (`python3 -m http.server`, some CDNs) answers 200 with the whole file, which the caller
 * then downloads in that one response instead of failing.
 */
export async function probeFile(
  url: string,
  doFetch: typeof fetch,
  signal?: AbortSignal,
): Promise<RemoteFileInfo> {
  const res = await request(url, doFetch, { headers: { Range: 'bytes=0-0' }, signal });
  if (res.status === 404) {
    await res.body?.cancel().catch(() => {});
    throw new EdgeLMError('NOT_FOUND', `${url} was not found (404)`, { url, status: 404 });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new EdgeLMError('NETWORK', `${url} answered ${res.status}`, { url, status: res.status });
  }
  const etag = res.headers.get('etag');
  if (res.status !== 206) {
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    const size = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    return { ranges: false, size, etag, response: res };
  }
  const range = res.headers.get('content-range');
  await res.body?.cancel().catch(() => {});
  if (!range) {
    // Cross-origin, the header is hidden unless the server lists it in Access-Control-Expose-Headers.
    throw new EdgeLMError('NETWORK', `${url} hides its Content-Range header (CORS), so its size is unknown`, {
      url,
    });
  }
  const size = Number(range.split('/')[1]);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new EdgeLMError('NETWORK', `${url} did not report its size`, { url });
  }
  return { ranges: true, size, etag };
}

/**
 * Fetches bytes `[start, start + length)` of a file of `size` bytes, streaming the body into one
 * buffer and reporting each piece through `onBytes`. A connection that drops half-way is a
 * NETWORK error; a response for another file size (the file changed) is INTEGRITY.
 */
export async function fetchRange(
  url: string,
  start: number,
  length: number,
  size: number,
  doFetch: typeof fetch,
  signal?: AbortSignal,
  onBytes?: (n: number) => void,
): Promise<Uint8Array> {
  const res = await request(url, doFetch, {
    headers: { Range: `bytes=${start}-${start + length - 1}` },
    signal,
  });
  const whole = res.status === 200 && start === 0 && length === size;
  if (res.status !== 206 && !whole) {
    await res.body?.cancel().catch(() => {});
    throw new EdgeLMError('NETWORK', `${url} answered ${res.status} to a Range request`, {
      url,
      status: res.status,
    });
  }
  const total = res.status === 206 ? Number(res.headers.get('content-range')?.split('/')[1]) : size;
  if (total !== size) {
    await res.body?.cancel().catch(() => {});
    throw new EdgeLMError('INTEGRITY', `${url} changed on the server (now ${total} bytes, was ${size})`, {
      url,
      size,
      now: total,
    });
  }
  const out = new Uint8Array(length);
  let filled = 0;
  if (!res.body) throw new EdgeLMError('NETWORK', `${url} sent no body`, { url });
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (filled + value.byteLength > length) {
        throw new EdgeLMError('NETWORK', `${url} sent more than the ${length} bytes asked for`, { url });
      }
      out.set(value, filled);
      filled += value.byteLength;
      onBytes?.(value.byteLength);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw asFetchError(e, url);
  }
  if (filled !== length) {
    throw new EdgeLMError('NETWORK', `${url}: connection closed after ${filled} of ${length} bytes`, {
      url,
      start,
      received: filled,
    });
  }
  return out;
}

async function request(url: string, doFetch: typeof fetch, init: RequestInit): Promise<Response> {
  try {
    // no-store: the weight store is the cache; the HTTP cache would hold a second copy.
    return await doFetch(url, { ...init, cache: 'no-store' });
  } catch (e) {
    throw asFetchError(e, url);
  }
}

export function asFetchError(e: unknown, url: string): EdgeLMError {
  if (e instanceof EdgeLMError) return e;
  if (e instanceof Error && e.name === 'AbortError') {
    return new EdgeLMError('ABORTED', `Download of ${url} aborted`, { url }, e);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new EdgeLMError('NETWORK', `Cannot fetch ${url}: ${message}`, { url }, e);
}
