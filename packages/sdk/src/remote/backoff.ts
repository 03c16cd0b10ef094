import { EdgeLMError } from '../errors.js';

/** How a request is retried before its first token. */
export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Delay before the first retry; doubles each time (default 250 ms). */
  baseDelayMs?: number;
  /** Ceiling of the exponential delay (default 8 s). */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the request fails with RATE_LIMITED (default 60 s). */
  maxRetryAfterMs?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

export function resolveRetry(o: RetryOptions = {}): ResolvedRetry {
  return {
    maxRetries: o.maxRetries ?? 3,
    baseDelayMs: o.baseDelayMs ?? 250,
    maxDelayMs: o.maxDelayMs ?? 8_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
  };
}

/**
 * Delay before retry number `retry` (0-based): exponential with "equal jitter", i.e. uniformly in
 * [cap/2, cap]. Half the window is random so that many clients failing together spread out, and
 * half is fixed so that the delay still grows when the random draw is small.
 */
export function backoffDelay(retry: number, o: ResolvedRetry, random: () => number = Math.random): number {
  const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** retry);
  return cap / 2 + random() * (cap / 2);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds,
 * or undefined when the header is absent or malformed.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-dates always name a weekday and month; Date.parse alone would take "-1" as a year.
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Waits `ms`, rejecting with ABORTED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortedError(signal: AbortSignal): EdgeLMError {
  return new EdgeLMError('ABORTED', 'The request was aborted', {}, signal.reason);
}
