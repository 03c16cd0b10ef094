import { EdgeLMError } from '../errors.js';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long an open circuit rejects requests before it lets one probe through (default 30 s). */
  cooldownMs?: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Stops hammering a server that keeps failing. It counts requests, not attempts (a request and
 * its retries hold one ticket). Closed: requests pass and failures are counted.
 * After `failureThreshold` consecutive failed requests it opens: requests fail at once with CIRCUIT_OPEN
 * and send nothing. After `cooldownMs` one request is let through as a probe (half-open); its
 * success closes the circuit, its failure opens it for another cool-down.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 10_000 });
 * const ticket = breaker.acquire();      // throws CIRCUIT_OPEN while open
 * try { await send(); breaker.success(ticket); } catch (e) { breaker.failure(ticket); throw e; }
 * ```
 */
export class CircuitBreaker {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private failures = 0;
  private openedAt = 0;
  private opened = false;
  private probeInFlight = false;
  private probeStartedAt = 0;

  constructor(
    o: CircuitBreakerOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.threshold = Math.max(1, o.failureThreshold ?? 5);
    this.cooldownMs = Math.max(0, o.cooldownMs ?? 30_000);
  }

  get state(): CircuitState {
    if (!this.opened) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Asks to send one attempt. Returns whether it is the half-open probe (pass it back to
   * `success`/`failure`); throws CIRCUIT_OPEN when the attempt must not be sent.
   */
  acquire(): boolean {
    const state = this.state;
    if (state === 'closed') return false;
    // A probe whose outcome never came back (its caller vanished) must not keep the circuit
    // open forever: after another cool-down, the next request probes instead.
    const probeLost = this.probeInFlight && this.now() - this.probeStartedAt >= this.cooldownMs;
    if (state === 'half-open' && (!this.probeInFlight || probeLost)) {
      this.probeInFlight = true;
      this.probeStartedAt = this.now();
      return true;
    }
    const retryInMs = Math.max(0, this.openedAt + this.cooldownMs - this.now());
    throw new EdgeLMError(
      'CIRCUIT_OPEN',
      'The remote server failed repeatedly; not sending until it recovers',
      {
        retryInMs,
        failures: this.failures,
      },
    );
  }

  success(probe: boolean): void {
    if (probe) this.probeInFlight = false;
    this.failures = 0;
    this.opened = false;
  }

  failure(probe: boolean): void {
    if (probe) this.probeInFlight = false;
    this.failures++;
    if (probe || this.failures >= this.threshold) {
      this.opened = true;
      this.openedAt = this.now();
    }
  }

  /** An attempt that ended without telling anything about the server's health (e.g. aborted). */
  release(probe: boolean): void {
    if (probe) this.probeInFlight = false;
  }
}
