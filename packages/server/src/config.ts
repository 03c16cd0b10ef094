import { join } from 'node:path';
import { EdgeLMError } from '@edgelm/sdk';

/** Everything the server is told from outside; `loadConfig` reads it from the environment. */
export interface ServerConfig {
  port: number;
  host: string;
  /** Model file (GGUF or llama2.c checkpoint). */
  modelPath: string;
  /** Tokenizer file, for llama2.c checkpoints. */
  tokenizerPath?: string;
  /** Name reported by /v1/models and accepted in requests' `model`. */
  modelName?: string;
  /** Required bearer token; unset means no authentication. */
  apiKey?: string;
  /** Response cache; unset means none. */
  redisUrl?: string;
  /** Seconds a cached response lives. */
  cacheTtlSeconds: number;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Largest `max_tokens` a request may ask for. */
  maxTokens: number;
  /** Sequences decoded together; 1 turns continuous batching off. */
  maxBatch: number;
  /** How long SIGTERM waits for open streams before ending them. */
  shutdownGraceMs: number;
  /** Interval of SSE keep-alive comments, so proxies and client idle timeouts see traffic. */
  keepAliveMs: number;
  backend: 'auto' | 'cpu' | 'webgpu';
  /** Origins allowed to call from a browser; `*` by default. */
  corsOrigins: string[];
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new EdgeLMError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/**
 * Reads PORT, HOST, MODEL (or EDGELM_MODELS_DIR with stories260K.bin + tok512.bin), TOKENIZER,
 * MODEL_NAME, EDGELM_API_KEY, REDIS_URL, CACHE_TTL_SECONDS, MAX_BODY_BYTES, MAX_TOKENS,
 * EDGELM_MAX_BATCH (1 = no continuous batching), SHUTDOWN_GRACE_MS, KEEPALIVE_MS, EDGELM_BACKEND,
 * CORS_ORIGINS (comma-separated; default `*`).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const dir = env.EDGELM_MODELS_DIR;
  const modelPath = env.MODEL ?? (dir ? join(dir, 'stories260K.bin') : undefined);
  if (!modelPath) throw new EdgeLMError('INVALID_ARGUMENT', 'Set MODEL (a model file) or EDGELM_MODELS_DIR');
  const tokenizerPath =
    env.TOKENIZER ?? (env.MODEL === undefined && dir ? join(dir, 'tok512.bin') : undefined);
  const backend = env.EDGELM_BACKEND ?? 'cpu';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'webgpu')
    throw new EdgeLMError('INVALID_ARGUMENT', `EDGELM_BACKEND must be auto, cpu or webgpu, got "${backend}"`);
  return {
    port: int(env, 'PORT', 8080),
    host: env.HOST ?? '127.0.0.1',
    modelPath,
    tokenizerPath,
    modelName: env.MODEL_NAME || undefined,
    apiKey: env.EDGELM_API_KEY || undefined,
    redisUrl: env.REDIS_URL || undefined,
    cacheTtlSeconds: int(env, 'CACHE_TTL_SECONDS', 3600),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1 << 20),
    maxTokens: int(env, 'MAX_TOKENS', 2048),
    maxBatch: Math.max(1, int(env, 'EDGELM_MAX_BATCH', 16)),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000),
    keepAliveMs: int(env, 'KEEPALIVE_MS', 15_000),
    backend,
    corsOrigins: (env.CORS_ORIGINS ?? '*')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  };
}
