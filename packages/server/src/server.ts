import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '@edgelm/sdk';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { GuardedCache } from './cache-guard.js';
import type { ServerConfig } from './config.js';
import { InFlight } from './in-flight.js';
import { JsonWorker } from './json-worker.js';
import { loadEngine } from './load-engine.js';
import { ServerMetrics } from './metrics.js';
import { RedisResponseCache } from './response-cache.js';

export interface RunningServer {
  /** `http://host:port`, the base URL clients (and the SDK's fallback) use. */
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  readonly metrics: ServerMetrics;
  readonly inFlight: InFlight;
  readonly cache: GuardedCache | undefined;
  /**
   * Graceful shutdown: new requests get 503 `shutting_down` (and `/healthz` 503) while open
   * generations finish for `graceMs`; the rest then end cleanly — a stream with an error event
   * and `[DONE]`, a non-streamed request with 503, never a cut answer as success — and the
   * listener closes.
   */
  close(graceMs?: number): Promise<{ finished: boolean; aborted: number }>;
}

export interface StartOptions {
  /** An engine already loaded (tests, embedding); otherwise the configured model is loaded. */
  engine?: Engine;
  modelName?: string;
  /** Leave the engine loaded on close (when the caller owns it). */
  keepEngine?: boolean;
  log?: (msg: string) => void;
}

/**
 * Starts the OpenAI-compatible server.
 *
 * @example
 * ```ts
 * const server = await startServer(loadConfig());
 * process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
 * ```
 */
export async function startServer(config: ServerConfig, o: StartOptions = {}): Promise<RunningServer> {
  const log = o.log ?? console.log;
  const loaded = o.engine
    ? { engine: o.engine, modelName: o.modelName ?? (await o.engine.info()).model.name }
    : await loadEngine(config);
  const { engine, modelName } = loaded;
  const metrics = new ServerMetrics(engine);
  const inFlight = new InFlight();
  const cache = config.redisUrl
    ? new GuardedCache(
        new RedisResponseCache(config.redisUrl, config.cacheTtlSeconds, Math.max(config.cacheTimeoutMs, 50)),
        { timeoutMs: config.cacheTimeoutMs, log },
      )
    : undefined;
  await cache?.ready();
  const contextLength = (await engine.info()).model.config.contextLength;
  // Sixteen characters per token is far above any real text (English averages about four), so
  // the cap refuses only prompts that could never fit, before the tokenizer sees them.
  const maxPromptChars = config.maxPromptChars ?? 16 * contextLength;
  // The body limit follows: six bytes per character covers JSON's \u escapes, 64 KiB the rest
  // of the request. A body that cannot hold an acceptable prompt is refused unread.
  const maxBodyBytes = config.maxBodyBytes ?? 6 * maxPromptChars + (64 << 10);
  const jsonWorker = new JsonWorker();
  const app = createApp({
    jsonWorker,
    engine,
    modelName,
    metrics,
    inFlight,
    cache,
    apiKey: config.apiKey,
    maxBodyBytes,
    limits: { maxTokens: config.maxTokens, maxPromptChars, contextLength },
    maxInFlight: config.maxBatch + config.maxQueue,
    keepAliveMs: config.keepAliveMs,
    writeTimeoutMs: config.writeTimeoutMs,
    corsOrigins: config.corsOrigins,
  });

  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
      resolve(s as Server),
    );
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log(`edgelm server: ${modelName} on ${url} (batch ${config.maxBatch}${cache ? ', redis cache' : ''})`);

  let closing: Promise<{ finished: boolean; aborted: number }> | undefined;
  const close = (graceMs = config.shutdownGraceMs) => {
    closing ??= (async () => {
      // The listener stays open while draining, so new requests are told 503 `shutting_down`
      // (and balancers see /healthz fail) instead of a refused connection.
      const outcome = await inFlight.drain(graceMs);
      let isClosed = false;
      const closed = new Promise<void>((r) =>
        server.close(() => {
          isClosed = true;
          r();
        }),
      );
      // Ended responses may still be flushing their last bytes: let each connection go idle (a
      // keep-alive one then holds close() open, so it is closed) before forcing the rest.
      for (const until = Date.now() + 2_000; !isClosed && Date.now() < until; ) {
        server.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
      server.closeAllConnections();
      await closed;
      await cache?.close();
      await jsonWorker.close();
      if (!o.keepEngine) await engine.unload();
      log(
        `edgelm server: stopped (${outcome.finished ? 'all streams finished' : `${outcome.aborted} streams ended early`})`,
      );
      return outcome;
    })();
    return closing;
  };

  return { url, port, engine, metrics, inFlight, cache, close };
}
