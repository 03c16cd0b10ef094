import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '@edgelm/sdk';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import type { ServerConfig } from './config.js';
import { InFlight } from './in-flight.js';
import { loadEngine } from './load-engine.js';
import { ServerMetrics } from './metrics.js';
import { RedisResponseCache, type ResponseCache } from './response-cache.js';

export interface RunningServer {
  /** `http://host:port`, the base URL clients (and the SDK's fallback) use. */
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  readonly metrics: ServerMetrics;
  readonly inFlight: InFlight;
  /**
   * Graceful shutdown: refuse new requests (503), stop accepting connections, let open
   * streams finish for `graceMs`, then end the rest with `finish_reason: "abort"` + `[DONE]`.
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
  const cache: ResponseCache | undefined = config.redisUrl
    ? new RedisResponseCache(config.redisUrl, config.cacheTtlSeconds, log)
    : undefined;
  const app = createApp({
    engine,
    modelName,
    metrics,
    inFlight,
    cache,
    apiKey: config.apiKey,
    maxBodyBytes: config.maxBodyBytes,
    maxTokens: config.maxTokens,
    keepAliveMs: config.keepAliveMs,
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
      inFlight.draining = true;
      let isClosed = false;
      const closed = new Promise<void>((r) =>
        server.close(() => {
          isClosed = true;
          r();
        }),
      );
      const outcome = await inFlight.drain(graceMs);
      // Ended responses may still be flushing their last bytes: let each connection go idle (a
      // keep-alive one then holds close() open, so it is closed) before forcing the rest.
      for (const until = Date.now() + 2_000; !isClosed && Date.now() < until; ) {
        server.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
      server.closeAllConnections();
      await closed;
      await cache?.close();
      if (!o.keepEngine) await engine.unload();
      log(
        `edgelm server: stopped (${outcome.finished ? 'all streams finished' : `${outcome.aborted} streams ended early`})`,
      );
      return outcome;
    })();
    return closing;
  };

  return { url, port, engine, metrics, inFlight, close };
}
