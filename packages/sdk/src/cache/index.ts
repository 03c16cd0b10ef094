export { withResponseCache } from './cached-generate.js';
export type { CachedSource } from './cached-source.js';
export type { CacheProgress } from './download.js';
export type { CachedModelInfo } from './manifest.js';
export {
  type CachedUrlSourceOptions,
  type CacheUsage,
  cachedUrlSource,
  cacheUsage,
  deleteCachedModel,
  listCachedModels,
  persistCache,
  prefetchModel,
} from './model-cache.js';
export { replayResponse } from './replay.js';
export {
  ResponseCache,
  type ResponseCacheOptions,
  type ResponseCacheStats,
  type ResponseEntry,
} from './response-cache.js';
export { canonicalJson, isCacheable, type ResponseKeyInput, responseCacheKey } from './response-key.js';
export {
  createWeightStore,
  defaultWeightStore,
  type WeightStore,
  type WeightStoreOptions,
} from './weight-store.js';
