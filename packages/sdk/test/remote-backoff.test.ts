import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, resolveRetry, sleep } from '../src/remote/backoff.js';
import { CircuitBreaker } from '../src/remote/circuit-breaker.js';

describe('backoffDelay', () => {
  const o = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1_000 });
  it('stays within [cap/2, cap] of an exponential cap, capped by maxDelayMs', () => {
    for (let retry = 0; retry < 8; retry++) {
      const cap = Math.min(1_000, 100 * 2 ** retry);
      expect(backoffDelay(retry, o, () => 0)).toBe(cap / 2);
      expect(backoffDelay(retry, o, () => 0.999999)).toBeCloseTo(cap, 2);
    }
  });
  it('spreads clients with jitter', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) seen.add(backoffDelay(2, o));
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
  });
  it('ignores absent and malformed values', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
  });
});

describe('sleep', () => {
  it('rejects with ABORTED when the signal aborts', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('CircuitBreaker', () => {
  function breaker() {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000 }, () => now);
    return { b, advance: (ms: number) => (now += ms) };
  }

  it('opens after N consecutive failures and rejects without sending', () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) b.failure(b.acquire());
    expect(b.state).toBe('open');
    expect(() => b.acquire()).toThrow(expect.objectContaining({ code: 'CIRCUIT_OPEN' }));
  });

  it('a success resets the count of consecutive failures', () => {
    const { b } = breaker();
    b.failure(b.acquire());
    b.failure(b.acquire());
    b.success(b.acquire());
    b.failure(b.acquire());
    b.failure(b.acquire());
    expect(b.state).toBe('closed');
  });

  it('lets exactly one probe through after the cool-down; success closes', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure(b.acquire());
    advance(999);
    expect(() => b.acquire()).toThrow();
    advance(1);
    expect(b.state).toBe('half-open');
    const probe = b.acquire();
    expect(probe).toBe(true);
    expect(() => b.acquire()).toThrow(expect.objectContaining({ code: 'CIRCUIT_OPEN' }));
    b.success(probe);
    expect(b.state).toBe('closed');
    expect(b.acquire()).toBe(false);
  });

  it('a failed probe opens the circuit for another cool-down', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure(b.acquire());
    advance(1_000);
    b.failure(b.acquire());
    expect(b.state).toBe('open');
    advance(500);
    expect(() => b.acquire()).toThrow();
    advance(500);
    expect(b.acquire()).toBe(true);
  });

  it('a released probe (aborted) lets the next request probe', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure(b.acquire());
    advance(1_000);
    b.release(b.acquire());
    expect(b.acquire()).toBe(true);
  });
});
