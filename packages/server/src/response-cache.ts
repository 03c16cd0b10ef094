import { createHash } from 'node:crypto';
import type { FinishReason } from '@edgelm/sdk';
import { Redis } from 'ioredis';

/** What is kept of a finished generation: enough to answer the same request again. */
export interface CachedResponse {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

/**
 * A response cache shared by all replicas. Implementations throw when the store fails; the
 * server wraps them in a `GuardedCache`, which turns failures and silence into misses.
 */
export interface ResponseCache {
  get(key: string): Promise<CachedResponse | undefined>;
  set(key: string, value: CachedResponse): Promise<void>;
  close(): Promise<void>;
  /** Resolves once the store can take commands (at startup, before the first request). */
  ready?(): Promise<void>;
}

/**
 * The cache key: a hash of the endpoint, the model and every request field that changes the
 * output. Fields that do not (stream, stream_options, user, metadata, store, cache) are left out,
 * so a streamed and a non-streamed request share an entry.
 */
export function cacheKey(endpoint: string, model: string, body: Record<string, unknown>): string {
  const { stream: _s, stream_options: _o, user: _u, metadata: _m, store: _st, cache: _c, ...rest } = body;
  const canonical = JSON.stringify([endpoint, model, sortKeys(rest)]);
  return `edgelm:resp:${createHash('sha256').update(canonical).digest('hex')}`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, sortKeys(o[k])]),
  );
}

/**
 * Cache in Redis with a TTL per entry.
 *
 * @example
 * ```ts
 * const cache = new RedisResponseCache('redis://127.0.0.1:6379', 3600);
 * await cache.set(key, { text, finishReason: 'stop', promptTokens: 5, completionTokens: 20 });
 * ```
 */
export class RedisResponseCache implements ResponseCache {
  private readonly redis: Redis;

  /** `commandTimeoutMs` bounds how long a command may sit in ioredis' queue unanswered. */
  constructor(
    url: string,
    private readonly ttlSeconds: number,
    commandTimeoutMs = 1_000,
  ) {
    // No offline queue, one retry and a command timeout: a dead or silent Redis fails commands
    // in bounded time instead of queueing them. Failures are thrown to the caller (the
    // GuardedCache), which decides to skip the cache and says so.
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      connectTimeout: Math.max(commandTimeoutMs, 1_000),
      lazyConnect: false,
    });
    // Without a listener ioredis' connection errors would crash the process; GuardedCache reports them.
    this.redis.on('error', () => {});
  }

  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((r) => this.redis.once('ready', () => r()));
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    const raw = await this.redis.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as CachedResponse);
  }

  async set(key: string, value: CachedResponse): Promise<void> {
    await this.redis.set(key, JSON.stringify(value), 'EX', this.ttlSeconds);
  }

  /** QUIT flushes pending writes to a healthy Redis; a silent one is disconnected after 200 ms. */
  async close(): Promise<void> {
    await Promise.race([this.redis.quit().catch(() => {}), new Promise((r) => setTimeout(r, 200))]);
    this.redis.disconnect();
  }
}
