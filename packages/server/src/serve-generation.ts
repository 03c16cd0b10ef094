import { randomUUID } from 'node:crypto';
import { EdgeLMError, type Engine } from '@edgelm/sdk';
import type { GuardedCache } from './cache-guard.js';
import { cutAnswerError, isOpenAIFinish } from './finish-reason.js';
import {
  cachedGeneration,
  chatGeneration,
  completionGeneration,
  type Generation,
  type Piece,
} from './generation.js';
import type { InFlight } from './in-flight.js';
import type { ServerMetrics } from './metrics.js';
import { fullResponse, type ResponseMeta } from './openai-shapes.js';
import type { ChatCall, CompletionCall } from './request.js';
import { cacheKey } from './response-cache.js';
import { sseBody } from './sse-body.js';
import { type Outgoing, watchWrites } from './write-watchdog.js';

export interface GenerationDeps {
  engine: Engine;
  modelName: string;
  metrics: ServerMetrics;
  inFlight: InFlight;
  cache: GuardedCache | undefined;
  keepAliveMs: number;
  /**
   * How long a streaming response holds its headers back waiting for the first token. Errors
   * found before work starts (context overflow, bad prompt) then still get a 4xx status; a
   * request queued longer gets its 200 and keep-alives, so clients' connect timeouts never fire.
   */
  headerWaitMs: number;
  /** Generations served at once (decoding + queued); one more is answered 429. */
  maxInFlight: number;
  /** A streamed response whose client reads nothing for this long is dropped. */
  writeTimeoutMs: number;
}

function cacheable(call: ChatCall | CompletionCall): boolean {
  const o = call.options;
  if (o.cache !== undefined) return o.cache;
  return (o.temperature ?? 0) <= 0 || o.seed !== undefined;
}

/** Per-request metrics: TTFT at the first piece, inter-token gaps after it, tokens at the end. */
class Observer {
  private last = 0;
  text = '';

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly endpoint: string,
    private readonly arrival: number,
  ) {}

  piece(p: Piece): void {
    const now = performance.now();
    if (this.last === 0) this.metrics.ttft.observe({ endpoint: this.endpoint }, (now - this.arrival) / 1000);
    else this.metrics.interToken.observe((now - this.last) / 1000);
    this.last = now;
    this.text += p.text;
  }

  end(g: Generation): void {
    const s = g.summary;
    if (!s || s.cached) return;
    this.metrics.tokens.inc({ kind: 'prompt' }, s.promptTokens);
    this.metrics.tokens.inc({ kind: 'completion' }, s.completionTokens);
    this.metrics.prefixReused.inc(s.prefixTokensReused);
  }
}

/**
 * Serves one validated chat or completion call: response cache, engine, metrics, and the HTTP
 * answer — a JSON body, or an SSE stream that always ends with a finish chunk and `[DONE]` (or an
 * error event), even when shutdown aborts it.
 */
export async function serveGeneration(
  deps: GenerationDeps,
  call: ChatCall | CompletionCall,
  clientSignal: AbortSignal,
  outgoing?: Outgoing,
): Promise<Response> {
  if (deps.inFlight.draining)
    throw new EdgeLMError('DISPOSED', 'The server is shutting down; retry on another replica');
  if (deps.inFlight.size >= deps.maxInFlight)
    throw new EdgeLMError(
      'RATE_LIMITED',
      `The server is at capacity (${deps.maxInFlight} requests being served or queued); retry shortly`,
      { retryAfterSeconds: 1 },
    );
  if (call.model !== undefined && call.model !== deps.modelName)
    throw new EdgeLMError(
      'NOT_FOUND',
      `The model "${call.model}" does not exist; this server serves "${deps.modelName}"`,
      {
        param: 'model',
      },
    );
  const endpoint = call.kind === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const arrival = performance.now();
  const controller = new AbortController();
  const onClientGone = () => controller.abort(clientSignal.reason);
  clientSignal.addEventListener('abort', onClientGone, { once: true });
  const release = deps.inFlight.track(controller);
  deps.metrics.inFlight.inc();
  let released = false;
  const done = (finish: string) => {
    if (released) return;
    released = true;
    deps.metrics.generations.inc({ endpoint, finish_reason: finish });
    clientSignal.removeEventListener('abort', onClientGone);
    deps.metrics.inFlight.dec();
    release();
  };

  try {
    const key = deps.cache && cacheable(call) ? cacheKey(endpoint, deps.modelName, call.body) : undefined;
    const hit = key ? await deps.cache!.get(key) : undefined;
    if (key) (hit ? deps.metrics.cacheHits : deps.metrics.cacheMisses).inc();
    const gen = hit
      ? cachedGeneration(hit)
      : call.kind === 'chat'
        ? chatGeneration(deps.engine, call, controller.signal)
        : completionGeneration(deps.engine, call, controller.signal);
    const meta: ResponseMeta = {
      kind: call.kind,
      id: `${call.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: deps.modelName,
    };
    const obs = new Observer(deps.metrics, endpoint, arrival);
    const store = () => {
      const s = gen.summary;
      if (key && !hit && s && (s.finishReason === 'stop' || s.finishReason === 'length'))
        void deps.cache!.set(key, {
          text: obs.text,
          finishReason: s.finishReason,
          promptTokens: s.promptTokens,
          completionTokens: s.completionTokens,
        });
    };
    const headers = { 'x-edgelm-cache': key ? (hit ? 'hit' : 'miss') : 'off' };

    if (!call.stream) {
      for await (const p of gen.pieces()) obs.piece(p);
      obs.end(gen);
      const s = gen.summary!;
      // A cut answer is an error, never a 200 that looks complete.
      if (!isOpenAIFinish(s.finishReason)) throw cutAnswerError(deps.inFlight.draining);
      store();
      done(s.finishReason);
      return Response.json(fullResponse(meta, obs.text, s), { headers });
    }

    const it = gen.pieces();
    const first = it.next();
    // A rejection of `first` is handled by whoever awaits it; this keeps it from being reported early.
    first.catch(() => {});
    const early = await within(first, deps.headerWaitMs);
    const body = sseBody({
      meta,
      includeUsage: call.includeUsage,
      gen,
      it,
      first: early ?? first,
      keepAliveMs: deps.keepAliveMs,
      abort: (reason) => controller.abort(reason),
      draining: () => deps.inFlight.draining,
      onPiece: (p) => obs.piece(p),
      onEnd: () => {
        obs.end(gen);
        store();
        done(gen.summary?.finishReason ?? (controller.signal.aborted ? 'abort' : 'error'));
      },
    });
    if (outgoing) watchWrites(outgoing, deps.writeTimeoutMs);
    return new Response(body, {
      headers: {
        ...headers,
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      },
    });
  } catch (e) {
    done(controller.signal.aborted ? 'abort' : 'error');
    throw e;
  }
}

/** `p`'s value if it settles within `ms`, else undefined (a rejection within `ms` rethrows). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(r, ms, undefined);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
