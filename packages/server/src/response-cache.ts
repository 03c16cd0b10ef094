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
 * A response cache shared by all replicas. Failures of the store never fail a request: a get
 * that errors is a miss, a set that errors is skipped, and both are reported once per outage.
 */
export interface ResponseCache {
  get(key: string): Promise<CachedResponse | undefined>;
  set(key: string, value: CachedResponse): Promise<void>;
  close(): Promise<void>;
}

/**
 * The cache key: a hash of the endpoint, the model and every request field that changes the
 * output. Fields that do not (stream, stream_options, user, cache) are left out, so a streamed
 * and a non-streamed request share an entry.
 */
export function cacheKey(endpoint: string, model: string, body: Record<string, unknown>): string {
  const { stream: _s, stream_options: _o, user: _u, cache: _c, ...rest } = body;
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
  private warned = false;

  constructor(
    url: string,
    private readonly ttlSeconds: number,
    private readonly log: (msg: string) => void = console.warn,
  ) {
    // No offline queue and one retry per command: a dead Redis costs a request a few ms, not a hang.
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.redis.on('error', (e: Error) => this.report(e));
    this.redis.on('ready', () => {
      this.warned = false;
    });
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    try {
      const raw = await this.redis.get(key);
      return raw === null ? undefined : (JSON.parse(raw) as CachedResponse);
    } catch (e) {
      this.report(e);
      return undefined;
    }
  }

  async set(key: string, value: CachedResponse): Promise<void> {
    try {
      await this.redis.set(key, JSON.stringify(value), 'EX', this.ttlSeconds);
    } catch (e) {
      this.report(e);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private report(e: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.log(
      `edgelm server: response cache unavailable (${e instanceof Error ? e.message : String(e)}); serving without it`,
    );
  }
}
