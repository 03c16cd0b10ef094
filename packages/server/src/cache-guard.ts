import type { CachedResponse, ResponseCache } from './response-cache.js';

export interface CacheGuardOptions {
  /** Longest wait for one cache command before the request goes on without it (default 100 ms). */
  timeoutMs?: number;
  /** Consecutive failures or timeouts that make the cache skipped (default 3). */
  failureThreshold?: number;
  /** How long a skipped cache stays skipped before one request probes it again (default 5 s). */
  cooldownMs?: number;
  /** Told once when the cache turns unavailable and once when it is back. */
  log?: (msg: string) => void;
  now?: () => number;
}

export type CacheHealth = 'ok' | 'degraded';

const TIMED_OUT = Symbol('timed out');

/**
 * A response cache that can never hang a request. Every command races a timeout; a failure or a
 * timeout counts against a breaker, and once it opens the cache is skipped altogether — requests
 * neither send nor wait — until, after the cool-down, a single request probes it. `health` is
 * what `/healthz` reports. Writes are fire-and-forget: they count, but nobody waits on them.
 *
 * @example
 * ```ts
 * const cache = new GuardedCache(new RedisResponseCache(url, 3600), { timeoutMs: 100 });
 * const hit = await cache.get(key); // undefined within 100 ms, whatever Redis does
 * ```
 */
export class GuardedCache implements ResponseCache {
  private readonly timeoutMs: number;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly log: (msg: string) => void;
  private readonly now: () => number;
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(
    private readonly inner: ResponseCache,
    o: CacheGuardOptions = {},
  ) {
    this.timeoutMs = o.timeoutMs ?? 100;
    this.threshold = Math.max(1, o.failureThreshold ?? 3);
    this.cooldownMs = o.cooldownMs ?? 5_000;
    this.log = o.log ?? console.warn;
    this.now = o.now ?? Date.now;
  }

  get health(): CacheHealth {
    return this.openedAt === undefined ? 'ok' : 'degraded';
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    const probe = this.admit();
    if (probe === undefined) return undefined;
    const r = await this.guarded(() => this.inner.get(key), probe);
    return r === TIMED_OUT ? undefined : r;
  }

  async set(key: string, value: CachedResponse): Promise<void> {
    const probe = this.admit();
    if (probe === undefined) return;
    void this.guarded(() => this.inner.set(key, value), probe);
  }

  /** Waits for the store to be ready, at most `ms`: a server that starts before Redis still starts. */
  async ready(ms = 1_000): Promise<void> {
    if (!this.inner.ready) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise((r) => {
      timer = setTimeout(r, ms);
    });
    await Promise.race([this.inner.ready(), waited]);
    clearTimeout(timer);
  }

  /** Closes the store, but never waits on a store that stopped answering. */
  async close(): Promise<void> {
    await Promise.race([
      this.inner.close().catch(() => {}),
      new Promise((r) => setTimeout(r, this.timeoutMs).unref?.()),
    ]);
  }

  /** undefined: skip the cache; false: a normal call; true: the one probe of a half-open breaker. */
  private admit(): boolean | undefined {
    if (this.openedAt === undefined) return false;
    if (this.probing || this.now() - this.openedAt < this.cooldownMs) return undefined;
    this.probing = true;
    return true;
  }

  private async guarded<T>(op: () => Promise<T>, probe: boolean): Promise<T | typeof TIMED_OUT> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((r) => {
      timer = setTimeout(r, this.timeoutMs, TIMED_OUT);
    });
    let outcome: T | typeof TIMED_OUT = TIMED_OUT;
    let error: unknown;
    try {
      // The race handles a late rejection of op() too: a command that gives up after its
      // timeout is never an unhandled rejection.
      outcome = await Promise.race([op(), timeout]);
    } catch (e) {
      error = e ?? new Error('cache command failed');
    } finally {
      clearTimeout(timer);
    }
    if (probe) this.probing = false;
    if (error !== undefined || outcome === TIMED_OUT) this.failure(probe, error);
    else this.success();
    return outcome;
  }

  private failure(probe: boolean, error: unknown): void {
    this.failures++;
    if (!probe && this.failures < this.threshold) return;
    if (this.openedAt === undefined) {
      const why = error instanceof Error ? error.message : `no answer within ${this.timeoutMs} ms`;
      this.log(`edgelm server: response cache unavailable (${why}); serving without it`);
    }
    this.openedAt = this.now();
  }

  private success(): void {
    this.failures = 0;
    if (this.openedAt === undefined) return;
    this.openedAt = undefined;
    this.log('edgelm server: response cache is back');
  }
}
