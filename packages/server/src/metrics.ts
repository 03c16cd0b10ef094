import type { Engine } from '@edgelm/sdk';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets (seconds) from sub-millisecond CPU tokens to multi-second queued prefills. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one) so
 * that several servers in one process, as in tests, keep separate counts.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'edgelm_requests_total',
    help: 'HTTP requests by endpoint and status code',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly generations = new Counter({
    name: 'edgelm_generations_total',
    help: 'Generation requests by endpoint and how they ended (stop, length, abort, error)',
    labelNames: ['endpoint', 'finish_reason'] as const,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: 'edgelm_time_to_first_token_seconds',
    help: 'From request arrival to the first generated token',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly interToken = new Histogram({
    name: 'edgelm_inter_token_latency_seconds',
    help: 'Time between consecutive streamed tokens',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'edgelm_tokens_total',
    help: 'Prompt and completion tokens processed',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: 'edgelm_response_cache_hits_total',
    help: 'Requests answered from the Redis response cache',
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({
    name: 'edgelm_response_cache_misses_total',
    help: 'Cacheable requests that had to be generated',
    registers: [this.registry],
  });
  readonly prefixReused = new Counter({
    name: 'edgelm_prefix_tokens_reused_total',
    help: 'Prompt tokens whose KV came from the engine prefix cache',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'edgelm_requests_in_flight',
    help: 'Generation requests being served',
    registers: [this.registry],
  });

  constructor(engine: Pick<Engine, 'stats'>) {
    // Process CPU, memory, handles and event-loop lag (nodejs_eventloop_lag_*): a blocked loop
    // is what freezes /healthz, so it is measured where the other serving metrics are.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    // Read at scrape time from the engine's scheduler: requests admitted but not yet decoding.
    new Gauge({
      name: 'edgelm_queue_depth',
      help: 'Requests waiting for a decode slot in the engine',
      registers: [this.registry],
      async collect() {
        this.set((await engine.stats()).queueDepth);
      },
    });
    new Gauge({
      name: 'edgelm_running_sequences',
      help: 'Sequences in the running decode batch',
      registers: [this.registry],
      async collect() {
        this.set((await engine.stats()).running);
      },
    });
  }
}
