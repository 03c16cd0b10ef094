import type {
  ChatCompletionRequest,
  FinishReason,
  GenerateOptions,
  GenerateResult,
  GenerateStream,
  Usage,
} from '../api/types.js';
import { EdgeLMError, toEdgeLMError } from '../errors.js';
import { backoffDelay, type ResolvedRetry, type RetryOptions, resolveRetry, sleep } from './backoff.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import { SseConnection } from './connection.js';
import { chatBody, completionBody, type OpenAIBody } from './request.js';
import { PushStream } from './result-stream.js';
import { parseStreamEvent } from './stream-payload.js';
import { ToolCallAccumulator } from './tool-call-deltas.js';

export interface RemoteClientOptions {
  /** Base URL of any OpenAI-compatible server, with or without the trailing `/v1`. */
  url: string;
  /** Sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** Model name for servers that serve several (vLLM, Ollama need it); omitted when unset. */
  model?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Per attempt, until the response headers arrive (default 10 s). */
  connectTimeoutMs?: number;
  /** Longest silence inside a streaming body; keep-alive comments count as traffic (default 30 s). */
  idleTimeoutMs?: number;
  /** Budget before the first token, retries included: no retry starts that would wait past it (default 60 s). */
  deadlineMs?: number;
  retry?: RetryOptions;
  circuitBreaker?: CircuitBreakerOptions;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

/** Per-call options that are not sampling parameters. */
export interface RemoteCallOptions {
  signal?: AbortSignal;
  /** Copied into `GenerateResult.routeReason`. */
  routeReason?: string;
}

/**
 * Whether another attempt may be sent: only when the server provably did none of the work. A
 * refused connection, a 429, a 503 (overloaded or draining) or a 502 (the gateway could not reach
 * it) say so; a connect timeout, a 500, a 504 or a dropped stream after the headers do not — the
 * server may be generating the answer right now, and a retry would make it do the work again.
 */
function isRetryable(err: EdgeLMError, connected: boolean): boolean {
  if (connected) return false;
  switch (err.code) {
    case 'REMOTE_UNAVAILABLE':
    case 'RATE_LIMITED':
      return true;
    case 'REMOTE_HTTP': {
      const status = Number(err.details.status);
      return status === 502 || status === 503;
    }
    default:
      return false;
  }
}

/** Errors that say the server is unhealthy, as opposed to rate limiting, bad requests or the caller's abort. */
function isServerFailure(err: EdgeLMError): boolean {
  switch (err.code) {
    case 'REMOTE_UNAVAILABLE':
    case 'REMOTE_PROTOCOL':
    case 'TIMEOUT':
      return true;
    case 'REMOTE_HTTP':
      // No status: an error event inside a stream, which servers send when generation failed.
      return Number(err.details.status ?? 500) >= 500;
    default:
      return false;
  }
}

/** What one request tells the breaker about the server's health. */
type Verdict = 'healthy' | 'unhealthy' | 'unknown';

interface Accumulator {
  text: string;
  tokens: number[];
  chunks: number;
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  ttftMs: number;
  cached: boolean;
  prefixTokensReused: number;
  toolCalls: ToolCallAccumulator;
}

/**
 * Streams completions from any OpenAI-compatible server (edgelm's own `@edgelm/server`, vLLM,
 * llama.cpp `llama-server`, Ollama, TGI's OpenAI route) and hands them back in the SDK's own
 * shapes, with `servedBy: 'remote'`, so local and remote answers look alike to the app.
 *
 * Retries (exponential backoff with jitter, `Retry-After` honoured) happen only when the server
 * provably did no work — connection refused, 429, 502, 503 — never after a timeout or once the
 * server accepted the request (2xx headers), so work is never sent twice and a failure is never
 * papered over by a second, different answer. A circuit breaker counts requests (not attempts),
 * fails fast while the server keeps failing, and lets one probe request through after the
 * cool-down. HTTP failures keep OpenAI's error `code`, `type` and `param` in `details`. Aborting the signal closes the HTTP stream and ends
 * the stream with `finishReason: 'abort'`. Failures are `EdgeLMError`s: REMOTE_UNAVAILABLE,
 * REMOTE_HTTP, REMOTE_PROTOCOL, RATE_LIMITED, TIMEOUT, CIRCUIT_OPEN.
 *
 * Token ids are known only when the server reports them (edgelm and vLLM send `token_ids`);
 * otherwise chunks carry `token: -1`. Usage comes from the server's final usage event
 * (`stream_options.include_usage`), falling back to counted chunks.
 *
 * @example
 * ```ts
 * const remote = new RemoteClient({ url: 'http://localhost:8000/v1', model: 'llama-3.2-1b' });
 * const stream = remote.chat({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 64 });
 * for await (const chunk of stream) output.append(chunk.text);
 * const { usage, timings } = await stream.result;
 * ```
 */
export class RemoteClient {
  readonly breaker: CircuitBreaker;
  private readonly retry: ResolvedRetry;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: RemoteClientOptions) {
    this.retry = resolveRetry(options.retry);
    this.breaker = new CircuitBreaker(options.circuitBreaker);
    // Browsers throw "Illegal invocation" when fetch is called detached from the global object.
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** `POST /v1/completions` with a raw prompt (text or token ids). */
  generate(
    prompt: string | ArrayLike<number>,
    opts: GenerateOptions & RemoteCallOptions = {},
  ): GenerateStream {
    return this.run('/completions', completionBody(prompt, opts, this.options.model), opts);
  }

  /** `POST /v1/chat/completions`; the server applies its model's chat template. */
  chat(request: ChatCompletionRequest, opts: RemoteCallOptions = {}): GenerateStream {
    const signal = opts.signal ?? request.signal;
    return this.run('/chat/completions', chatBody(request, this.options.model), { ...opts, signal });
  }

  private run(path: string, body: OpenAIBody, opts: RemoteCallOptions): GenerateStream {
    const out = new PushStream();
    this.pump(path, JSON.stringify(body), opts, out).then(
      (r) => out.finish(r),
      (e) => out.fail(toEdgeLMError(e)),
    );
    return out;
  }

  private async pump(
    path: string,
    body: string,
    opts: RemoteCallOptions,
    out: PushStream,
  ): Promise<GenerateResult> {
    const t0 = performance.now();
    const acc: Accumulator = {
      text: '',
      tokens: [],
      chunks: 0,
      finishReason: undefined,
      usage: undefined,
      ttftMs: -1,
      cached: false,
      prefixTokensReused: 0,
      toolCalls: new ToolCallAccumulator(),
    };
    const deadlineMs = this.options.deadlineMs ?? 60_000;
    // One ticket per request, not per attempt: a request that retries three times is one
    // failure, and the half-open probe is one request of one attempt.
    const probe = this.breaker.acquire();
    const maxRetries = probe ? 0 : this.retry.maxRetries;
    let verdict: Verdict = 'unknown';
    try {
      for (let attempt = 0; ; attempt++) {
        let connected = false;
        try {
          const conn = await SseConnection.open({
            url: endpoint(this.options.url, path),
            headers: this.headers(),
            body,
            connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
            idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
            signal: opts.signal,
            fetch: this.fetchFn,
          });
          connected = true;
          verdict = 'healthy';
          if (await this.consume(conn, acc, out, t0))
            return this.result(acc, t0, opts, acc.finishReason ?? 'stop');
          throw new EdgeLMError('REMOTE_PROTOCOL', 'The stream ended before [DONE] or a finish reason');
        } catch (e) {
          const err = toEdgeLMError(e);
          if (err.code === 'ABORTED') return this.result(acc, t0, opts, 'abort');
          // 429 says nothing about health; other 4xx prove the server is up and answering.
          verdict = isServerFailure(err) ? 'unhealthy' : err.code === 'RATE_LIMITED' ? verdict : 'healthy';
          err.details.attempts = attempt + 1;
          if (!isRetryable(err, connected) || attempt >= maxRetries) throw err;
          const delay = this.delayFor(err, attempt);
          if (delay === undefined || performance.now() - t0 + delay > deadlineMs) throw err;
          try {
            await sleep(delay, opts.signal);
          } catch {
            return this.result(acc, t0, opts, 'abort');
          }
        }
      }
    } finally {
      if (verdict === 'healthy') this.breaker.success(probe);
      else if (verdict === 'unhealthy') this.breaker.failure(probe);
      else this.breaker.release(probe);
    }
  }

  /** Reads events into `acc`; true when the server finished the stream properly. */
  private async consume(
    conn: SseConnection,
    acc: Accumulator,
    out: PushStream,
    t0: number,
  ): Promise<boolean> {
    for await (const ev of conn.events()) {
      if (ev.data === '[DONE]') {
        conn.close();
        return true;
      }
      const d = parseStreamEvent(ev.data);
      if (d.text !== '' || d.tokenIds.length > 0) {
        if (acc.ttftMs < 0) acc.ttftMs = performance.now() - t0;
        acc.text += d.text;
        acc.chunks++;
        const ids = d.tokenIds.length > 0 ? d.tokenIds : [-1];
        // Text becomes final with the last token of the event; earlier ones carry none.
        for (let i = 0; i < ids.length; i++) {
          if (ids[i] >= 0) acc.tokens.push(ids[i]);
          out.push({ text: i === ids.length - 1 ? d.text : '', token: ids[i] });
        }
      }
      if (d.toolCalls.length > 0) {
        if (acc.ttftMs < 0) acc.ttftMs = performance.now() - t0;
        acc.toolCalls.add(d.toolCalls);
      }
      if (d.finishReason !== undefined) acc.finishReason = d.finishReason;
      if (d.usage !== undefined) acc.usage = d.usage;
      if (d.cached !== undefined) acc.cached = d.cached;
      if (d.prefixTokensReused !== undefined) acc.prefixTokensReused = d.prefixTokensReused;
    }
    // Some servers close without [DONE]; a finish reason already said the answer is complete.
    return acc.finishReason !== undefined;
  }

  /** Milliseconds to wait before the next attempt, or undefined when waiting is pointless. */
  private delayFor(err: EdgeLMError, attempt: number): number | undefined {
    const retryAfter = err.details.retryAfterMs;
    if (typeof retryAfter === 'number')
      return retryAfter > this.retry.maxRetryAfterMs ? undefined : retryAfter;
    return backoffDelay(attempt, this.retry);
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...this.options.headers,
    };
    if (this.options.apiKey) h.authorization = `Bearer ${this.options.apiKey}`;
    return h;
  }

  private result(
    acc: Accumulator,
    t0: number,
    opts: RemoteCallOptions,
    finishReason: FinishReason,
  ): GenerateResult {
    const totalMs = performance.now() - t0;
    const usage = acc.usage ?? {
      promptTokens: 0,
      completionTokens: acc.tokens.length || acc.chunks,
      totalTokens: acc.tokens.length || acc.chunks,
    };
    const ttftMs = acc.ttftMs < 0 ? totalMs : acc.ttftMs;
    const decodeMs = totalMs - ttftMs;
    return {
      text: acc.text,
      tokens: acc.tokens,
      finishReason,
      usage,
      timings: {
        ttftMs,
        prefillTokensPerSecond: ttftMs > 0 ? (usage.promptTokens * 1000) / ttftMs : 0,
        decodeTokensPerSecond:
          decodeMs > 0 && usage.completionTokens > 1 ? ((usage.completionTokens - 1) * 1000) / decodeMs : 0,
        totalMs,
      },
      prefixTokensReused: acc.prefixTokensReused,
      cached: acc.cached,
      servedBy: 'remote',
      routeReason: opts.routeReason ?? 'sent to the remote server by the caller',
      ...(acc.toolCalls.size > 0 ? { toolCalls: acc.toolCalls.result() } : {}),
    };
  }
}

/** `http://h:8000` and `http://h:8000/v1/` both lead to `http://h:8000/v1/<path>`. */
export function endpoint(base: string, path: string): string {
  const b = base.replace(/\/+$/, '');
  return (b.endsWith('/v1') ? b : `${b}/v1`) + path;
}
