import { EdgeLMError, isEdgeLMError } from '../errors.js';
import { abortedError, parseRetryAfter } from './backoff.js';
import { openAIErrorFields } from './openai-error.js';
import { type SseEvent, SseParser } from './sse.js';

export interface ConnectionOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Until the response headers arrive. */
  connectTimeoutMs: number;
  /** Longest silence between two reads of the body (keep-alive comments count as activity). */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  fetch: typeof fetch;
}

/**
 * One HTTP attempt that streams Server-Sent Events. Every exit path (end, error, timeout, caller
 * abort, `close()`) aborts the underlying fetch, which closes the socket, so an abandoned stream
 * never keeps the server generating.
 */
export class SseConnection {
  private readonly controller = new AbortController();
  private timedOut: 'connect' | 'idle' | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastActivity = 0;
  private closed = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  private constructor(private readonly o: ConnectionOptions) {}

  /** Sends the request; resolves once 2xx event-stream headers arrived, else throws a typed error. */
  static async open(o: ConnectionOptions): Promise<SseConnection> {
    const conn = new SseConnection(o);
    await conn.connect();
    return conn;
  }

  private readonly onCallerAbort = () => this.controller.abort(this.o.signal?.reason);

  private async connect(): Promise<void> {
    const { signal } = this.o;
    if (signal?.aborted) throw abortedError(signal);
    signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = 'connect';
      this.controller.abort();
    }, this.o.connectTimeoutMs);
    let res: Response;
    try {
      res = await this.o.fetch(this.o.url, {
        method: 'POST',
        headers: this.o.headers,
        body: this.o.body,
        signal: this.controller.signal,
      });
      if (!res.ok) throw await httpError(res);
      const type = res.headers.get('content-type') ?? '';
      if (!type.includes('text/event-stream') || !res.body) {
        throw new EdgeLMError(
          'REMOTE_PROTOCOL',
          `Expected an event stream, got "${type || 'no content type'}"`,
          {
            status: res.status,
          },
        );
      }
    } catch (e) {
      this.close();
      throw this.mapError(e);
    }
    clearTimeout(this.timer);
    this.reader = res.body.getReader();
    this.lastActivity = performance.now();
    this.armIdle(this.o.idleTimeoutMs);
  }

  /** The events of the body, in order; throws TIMEOUT, ABORTED or REMOTE_UNAVAILABLE on failure. */
  async *events(): AsyncGenerator<SseEvent, void, undefined> {
    const parser = new SseParser();
    try {
      for (;;) {
        const { done, value } = await this.reader!.read();
        this.lastActivity = performance.now();
        if (done) break;
        yield* parser.push(value);
      }
      yield* parser.end();
    } catch (e) {
      throw this.mapError(e);
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.o.signal?.removeEventListener('abort', this.onCallerAbort);
    this.reader?.cancel().catch(() => {});
    this.controller.abort();
  }

  /** One timer per connection, re-armed only when it fires, so reading a chunk costs no timer work. */
  private armIdle(ms: number): void {
    this.timer = setTimeout(() => {
      const silent = performance.now() - this.lastActivity;
      if (silent < this.o.idleTimeoutMs) {
        this.armIdle(this.o.idleTimeoutMs - silent);
        return;
      }
      this.timedOut = 'idle';
      this.controller.abort();
    }, ms);
  }

  private mapError(e: unknown): EdgeLMError {
    const { signal } = this.o;
    if (this.timedOut) {
      const ms = this.timedOut === 'connect' ? this.o.connectTimeoutMs : this.o.idleTimeoutMs;
      return new EdgeLMError(
        'TIMEOUT',
        `No ${this.timedOut === 'connect' ? 'response' : 'data'} within ${ms} ms`,
        {
          phase: this.timedOut,
          timeoutMs: ms,
        },
      );
    }
    if (signal?.aborted) return abortedError(signal);
    if (isEdgeLMError(e)) return e;
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    return new EdgeLMError(
      'REMOTE_UNAVAILABLE',
      `Could not reach ${this.o.url}: ${e instanceof Error ? e.message : String(e)}${cause ? ` (${cause})` : ''}`,
      { url: this.o.url },
      e,
    );
  }
}

/**
 * Turns a non-2xx response into RATE_LIMITED or REMOTE_HTTP, keeping the server's OpenAI error
 * message, and its `type`, `code` and `param` as details, so callers can branch on
 * `details.code === 'context_length_exceeded'` as they would with OpenAI's own client.
 */
async function httpError(res: Response): Promise<EdgeLMError> {
  let fields = openAIErrorFields(undefined);
  try {
    const parsed = JSON.parse(await res.text()) as { error?: unknown };
    fields = openAIErrorFields(parsed.error);
  } catch {
    // Not JSON (a proxy's HTML page, say): the status line is all we can report.
  }
  const message = fields.message ?? res.statusText;
  const details = {
    status: res.status,
    type: fields.type,
    code: fields.code,
    param: fields.param,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
  };
  if (res.status === 429) return new EdgeLMError('RATE_LIMITED', `Rate limited: ${message}`, details);
  return new EdgeLMError('REMOTE_HTTP', `HTTP ${res.status}: ${message}`, details);
}
