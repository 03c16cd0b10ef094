import { EdgeLMError, type Engine } from '@edgelm/sdk';
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { bearerChecker } from './auth.js';
import type { GuardedCache } from './cache-guard.js';
import type { InFlight } from './in-flight.js';
import { readJsonBody } from './json-body.js';
import type { JsonWorker } from './json-worker.js';
import type { ServerMetrics } from './metrics.js';
import { openAIError } from './openai-error.js';
import { parseChat, parseCompletion, type RequestLimits } from './request.js';
import { type GenerationDeps, serveGeneration } from './serve-generation.js';

export interface AppOptions {
  engine: Engine;
  modelName: string;
  metrics: ServerMetrics;
  inFlight: InFlight;
  cache?: GuardedCache;
  apiKey?: string;
  maxBodyBytes: number;
  /** Prompt and output bounds, checked before any work starts. */
  limits: RequestLimits;
  /** Generations served at once (decoding + queued); the next is answered 429 with `Retry-After`. */
  maxInFlight: number;
  keepAliveMs: number;
  writeTimeoutMs: number;
  headerWaitMs?: number;
  /** Parses large bodies off the event loop; without one they are parsed inline. */
  jsonWorker?: JsonWorker;
  /** Origins browsers may call from; empty or unset sends no CORS headers; `['*']` allows any. */
  corsOrigins?: string[];
}

type Env = { Bindings: Partial<HttpBindings> };

function errorResponse(c: Context, e: unknown): Response {
  const { status, body } = openAIError(e);
  const headers: Record<string, string> = {};
  const details = e instanceof EdgeLMError ? e.details : {};
  if (typeof details.retryAfterSeconds === 'number')
    headers['retry-after'] = String(details.retryAfterSeconds);
  if (typeof details.allow === 'string') headers.allow = details.allow;
  // Draining: ask keep-alive clients to reconnect, which the balancer sends elsewhere.
  if (body.error.code === 'shutting_down') headers.connection = 'close';
  return c.json(body, status as 400, headers);
}

/**
 * JSON only: a `text/plain` POST is what a page may send cross-origin without a preflight, so
 * reading it as JSON would let any web page run generations on a local server.
 */
function requireJson(c: Context): void {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type)) return;
  throw new EdgeLMError(
    'INVALID_ARGUMENT',
    `Content-Type must be application/json, got "${type || 'none'}"`,
    {
      status: 415,
      param: 'content-type',
      openaiCode: 'unsupported_media_type',
    },
  );
}

/** The routes and the methods they answer, for 405 with `Allow`. */
const ROUTES: readonly [path: string, method: 'GET' | 'POST'][] = [
  ['/healthz', 'GET'],
  ['/metrics', 'GET'],
  ['/v1/models', 'GET'],
  ['/v1/models/*', 'GET'],
  ['/v1/chat/completions', 'POST'],
  ['/v1/completions', 'POST'],
];

/**
 * The HTTP surface: OpenAI's `/v1/models` (and `/v1/models/{id}`), `/v1/chat/completions`,
 * `/v1/completions`, plus `/healthz` (open, for load balancers) and `/metrics` (Prometheus; behind
 * the API key when one is set). Every error answers in OpenAI's shape, unknown routes with 404 and
 * known routes with the wrong method with 405.
 */
export function createApp(o: AppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const checkAuth = bearerChecker(o.apiKey);
  const deps: GenerationDeps = {
    engine: o.engine,
    modelName: o.modelName,
    metrics: o.metrics,
    inFlight: o.inFlight,
    cache: o.cache,
    keepAliveMs: o.keepAliveMs,
    headerWaitMs: o.headerWaitMs ?? 1_000,
    maxInFlight: o.maxInFlight,
    writeTimeoutMs: o.writeTimeoutMs,
  };

  app.onError((e, c) => errorResponse(c, e));
  app.notFound((c) =>
    errorResponse(
      c,
      new EdgeLMError('NOT_FOUND', `Invalid URL (${c.req.method} ${c.req.path})`, {
        status: 404,
        openaiCode: 'unknown_url',
      }),
    ),
  );

  app.use(async (c, next) => {
    await next();
    o.metrics.requests.inc({ endpoint: c.req.routePath, status: c.res.status });
  });

  // Off unless configured: a local server is no web page's business. Before auth, because a
  // preflight carries no Authorization header.
  const origins = o.corsOrigins ?? [];
  if (origins.length > 0)
    app.use(
      '*',
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['authorization', 'content-type', 'accept'],
        exposeHeaders: ['x-edgelm-cache', 'retry-after'],
        maxAge: 600,
      }),
    );

  app.get('/healthz', (c) => {
    if (o.inFlight.draining) return c.json({ status: 'draining' }, 503);
    const cache = o.cache?.health;
    return c.json({
      status: cache === 'degraded' ? 'degraded' : 'ok',
      model: o.modelName,
      inFlight: o.inFlight.size,
      ...(cache ? { cache } : {}),
    });
  });

  app.use('*', async (c, next) => {
    checkAuth(c.req.header('authorization'));
    await next();
  });

  app.get('/metrics', async (c) =>
    c.body(await o.metrics.registry.metrics(), 200, { 'content-type': o.metrics.registry.contentType }),
  );

  const model = { id: o.modelName, object: 'model', created: 0, owned_by: 'edgelm' };
  app.get('/v1/models', (c) => c.json({ object: 'list', data: [model] }));
  // Ids may hold slashes (`meta-llama/Llama-3.1-8B`), so the rest of the path is the id.
  app.get('/v1/models/*', (c) => {
    const id = decodeURIComponent(c.req.path.slice('/v1/models/'.length));
    if (id === o.modelName) return c.json(model);
    throw new EdgeLMError(
      'NOT_FOUND',
      `The model "${id}" does not exist; this server serves "${o.modelName}"`,
      {
        param: 'model',
      },
    );
  });

  // Checked before the body is read: refusals cost nothing.
  const admit = async (c: Context, next: () => Promise<void>) => {
    if (o.inFlight.draining)
      throw new EdgeLMError('DISPOSED', 'The server is shutting down; retry on another replica');
    requireJson(c);
    await next();
  };

  const body = (c: Context<Env>) => readJsonBody(c.env?.incoming, c.req.raw, o.maxBodyBytes, o.jsonWorker);
  app.post('/v1/chat/completions', admit, async (c) =>
    serveGeneration(deps, parseChat(await body(c), o.limits), c.req.raw.signal, c.env?.outgoing),
  );
  app.post('/v1/completions', admit, async (c) =>
    serveGeneration(deps, parseCompletion(await body(c), o.limits), c.req.raw.signal, c.env?.outgoing),
  );

  for (const [path, method] of ROUTES)
    app.all(path, (c) => {
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        `${c.req.method} is not allowed on ${c.req.path}; use ${method}`,
        {
          status: 405,
          allow: method,
          openaiCode: 'method_not_allowed',
        },
      );
    });

  return app;
}
