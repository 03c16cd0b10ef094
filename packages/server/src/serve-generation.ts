import { randomUUID } from 'node:crypto';
import { EdgeLMError, type Engine } from '@edgelm/sdk';
import {
  cachedGeneration,
  chatGeneration,
  completionGeneration,
  type Generation,
  type Piece,
} from './generation.js';
import type { InFlight } from './in-flight.js';
import type { ServerMetrics } from './metrics.js';
import { openAIError } from './openai-error.js';
import {
  finishChunk,
  fullResponse,
  openingChunk,
  pieceChunk,
  type ResponseMeta,
  toolCallsChunk,
  usageChunk,
} from './openai-shapes.js';
import type { ChatCall, CompletionCall } from './request.js';
import { cacheKey, type ResponseCache } from './response-cache.js';

export interface GenerationDeps {
  engine: Engine;
  modelName: string;
  metrics: ServerMetrics;
  inFlight: InFlight;
  cache: ResponseCache | undefined;
  keepAliveMs: number;
  /**
   * How long a streaming response holds its headers back waiting for the first token. Errors
   * found before work starts (context overflow, bad prompt) then still get a 4xx status; a
   * request queued longer gets its 200 and keep-alives, so clients' connect timeouts never fire.
   */
  headerWaitMs: number;
}

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');
const event = (data: object) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);

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
): Promise<Response> {
  if (deps.inFlight.draining)
    throw new EdgeLMError('DISPOSED', 'The server is shutting down; retry on another replica');
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
  const done = () => {
    if (released) return;
    released = true;
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
      store();
      done();
      return Response.json(fullResponse(meta, obs.text, gen.summary!), { headers });
    }

    const it = gen.pieces();
    const first = it.next();
    // A rejection of `first` is handled by whoever awaits it; this keeps it from being reported early.
    first.catch(() => {});
    const early = await within(first, deps.headerWaitMs);
    const body = sseBody(deps, meta, call.includeUsage, gen, it, early ?? first, obs, controller, () => {
      store();
      done();
    });
    return new Response(body, {
      headers: {
        ...headers,
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      },
    });
  } catch (e) {
    done();
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

function sseBody(
  deps: GenerationDeps,
  meta: ResponseMeta,
  includeUsage: boolean,
  gen: Generation,
  it: AsyncGenerator<Piece, void, undefined>,
  first: IteratorResult<Piece, void> | Promise<IteratorResult<Piece, void>>,
  obs: Observer,
  controller: AbortController,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(out) {
      let open = true;
      const write = (bytes: Uint8Array) => {
        if (!open) return;
        try {
          out.enqueue(bytes);
        } catch {
          open = false;
        }
      };
      const opening = openingChunk(meta);
      if (opening) write(event(opening));
      keepAlive = setInterval(() => write(KEEP_ALIVE), deps.keepAliveMs);
      void (async () => {
        try {
          for (let r = await first; !r.done; r = await it.next()) {
            obs.piece(r.value);
            write(event(pieceChunk(meta, r.value)));
          }
          obs.end(gen);
          const calls = toolCallsChunk(meta, gen.summary!);
          if (calls) write(event(calls));
          write(event(finishChunk(meta, gen.summary!)));
          if (includeUsage) write(event(usageChunk(meta, gen.summary!)));
        } catch (e) {
          // Headers are gone: the error travels as an event, the way OpenAI and vLLM send it.
          write(event(openAIError(e).body));
        } finally {
          clearInterval(keepAlive);
          write(DONE);
          if (open) out.close();
          open = false;
          onEnd();
        }
      })();
    },
    cancel() {
      clearInterval(keepAlive);
      controller.abort(new EdgeLMError('ABORTED', 'The client closed the connection'));
    },
  });
}
