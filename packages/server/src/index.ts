export { type AppOptions, createApp } from './app.js';
export { type CacheGuardOptions, type CacheHealth, GuardedCache } from './cache-guard.js';
export { loadConfig, type ServerConfig } from './config.js';
export { InFlight } from './in-flight.js';
export { loadEngine } from './load-engine.js';
export { ServerMetrics } from './metrics.js';
export { type CachedResponse, cacheKey, RedisResponseCache, type ResponseCache } from './response-cache.js';
export { type RunningServer, type StartOptions, startServer } from './server.js';
