import { EdgeLMError, type Engine } from '@edgelm/sdk';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { bearerChecker } from './auth.js';
import type { InFlight } from './in-flight.js';
import type { ServerMetrics } from './metrics.js';
import { openAIError } from './openai-error.js';
import { parseChat, parseCompletion } from './request.js';
import type { ResponseCache } from './response-cache.js';
import { type GenerationDeps, serveGeneration } from './serve-generation.js';

export interface AppOptions {
  engine: Engine;
  modelName: string;
  metrics: ServerMetrics;
  inFlight: InFlight;
  cache?: ResponseCache;
  apiKey?: string;
  maxBodyBytes: number;
  maxTokens: number;
  keepAliveMs: number;
  headerWaitMs?: number;
  /** Origins browsers may call from (the SDK's fallback runs in pages); `['*']` allows any. */
  corsOrigins?: string[];
}

function errorResponse(c: Context, e: unknown): Response {
  const { status, body } = openAIError(e);
  return c.json(body, status as 400);
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (e) {
    throw new EdgeLMError('INVALID_ARGUMENT', 'The request body is not valid JSON', { param: 'body' }, e);
  }
}

/**
 * The HTTP surface: OpenAI's `/v1/models`, `/v1/chat/completions`, `/v1/completions`, plus
 * `/healthz` (open, for load balancers) and `/metrics` (Prometheus; behind the API key when one
 * is set). Every error answers in OpenAI's shape.
 */
export function createApp(o: AppOptions): Hono {
  const app = new Hono();
  const checkAuth = bearerChecker(o.apiKey);
  const deps: GenerationDeps = {
    engine: o.engine,
    modelName: o.modelName,
    metrics: o.metrics,
    inFlight: o.inFlight,
    cache: o.cache,
    keepAliveMs: o.keepAliveMs,
    headerWaitMs: o.headerWaitMs ?? 1_000,
  };

  app.onError((e, c) => errorResponse(c, e));
  app.notFound((c) =>
    errorResponse(c, new EdgeLMError('NOT_FOUND', `No route ${c.req.method} ${c.req.path}`, { status: 404 })),
  );

  app.use(async (c, next) => {
    await next();
    o.metrics.requests.inc({ endpoint: c.req.routePath, status: c.res.status });
  });

  // Before auth: a CORS preflight carries no Authorization header.
  const origins = o.corsOrigins ?? ['*'];
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

  app.get('/healthz', (c) =>
    o.inFlight.draining
      ? c.json({ status: 'draining' }, 503)
      : c.json({ status: 'ok', model: o.modelName, inFlight: o.inFlight.size }),
  );

  app.use('*', async (c, next) => {
    checkAuth(c.req.header('authorization'));
    await next();
  });

  app.get('/metrics', async (c) =>
    c.body(await o.metrics.registry.metrics(), 200, { 'content-type': o.metrics.registry.contentType }),
  );

  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: [{ id: o.modelName, object: 'model', created: 0, owned_by: 'edgelm' }] }),
  );

  const limit = bodyLimit({
    maxSize: o.maxBodyBytes,
    onError: (c) =>
      errorResponse(
        c,
        new EdgeLMError('LIMIT_EXCEEDED', `The request body exceeds ${o.maxBodyBytes} bytes`, {
          status: 413,
          param: 'body',
        }),
      ),
  });

  app.post('/v1/chat/completions', limit, async (c) =>
    serveGeneration(deps, parseChat(await jsonBody(c), o.maxTokens), c.req.raw.signal),
  );
  app.post('/v1/completions', limit, async (c) =>
    serveGeneration(deps, parseCompletion(await jsonBody(c), o.maxTokens), c.req.raw.signal),
  );

  return app;
}
