export { backoffDelay, parseRetryAfter, type RetryOptions } from './backoff.js';
export { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';
export { endpoint, type RemoteCallOptions, RemoteClient, type RemoteClientOptions } from './client.js';
export {
  decideAfterLocalFailure,
  decideRoute,
  type FallbackPolicy,
  type LocalCapacity,
  type LocalProblem,
  type RouteDecision,
  type RouteInput,
} from './policy.js';
export { type SseEvent, SseParser } from './sse.js';
