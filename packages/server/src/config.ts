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
  /** Largest request body in bytes; unset: 6 bytes per allowed prompt character + 64 KiB. */
  maxBodyBytes?: number;
  /** Most prompt characters, checked before tokenizing; unset: 16 per token of the model's context. */
  maxPromptChars?: number;
  /** Requests allowed to wait beyond the running batch; the next one is answered 429. */
  maxQueue: number;
  /** A stream whose client reads nothing for this long is dropped. */
  writeTimeoutMs: number;
  /** Longest wait for one Redis command before the request goes on uncached. */
  cacheTimeoutMs: number;
  /** Largest `max_tokens` a request may ask for. */
  maxTokens: number;
  /** Sequences decoded together; 1 turns continuous batching off. */
  maxBatch: number;
  /** How long SIGTERM waits for open streams before ending them. */
  shutdownGraceMs: number;
  /** Interval of SSE keep-alive comments, so proxies and client idle timeouts see traffic. */
  keepAliveMs: number;
  backend: 'auto' | 'cpu' | 'webgpu';
  /** Origins allowed to call from a browser; none by default (no CORS headers at all). */
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

/** Hosts only this machine can reach; anything else needs an API key. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function optionalInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  return env[name] === undefined || env[name] === '' ? undefined : int(env, name, 0);
}

/**
 * Reads PORT, HOST, MODEL (or EDGELM_MODELS_DIR with stories260K.bin + tok512.bin), TOKENIZER,
 * MODEL_NAME, EDGELM_API_KEY, REDIS_URL, CACHE_TTL_SECONDS, MAX_BODY_BYTES, MAX_TOKENS,
 * MAX_PROMPT_CHARS, MAX_QUEUE, EDGELM_MAX_BATCH (1 = no continuous batching), SHUTDOWN_GRACE_MS,
 * KEEPALIVE_MS, WRITE_TIMEOUT_MS, CACHE_TIMEOUT_MS, EDGELM_BACKEND, CORS_ORIGINS (comma-separated;
 * default none). A HOST other than loopback requires EDGELM_API_KEY: a server reachable from the
 * network is never open by default.
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
  const host = env.HOST || '127.0.0.1';
  const apiKey = env.EDGELM_API_KEY || undefined;
  if (!apiKey && !isLoopback(host))
    throw new EdgeLMError(
      'INVALID_ARGUMENT',
      `HOST=${host} makes the server reachable from other machines: set EDGELM_API_KEY, or bind to 127.0.0.1`,
      { param: 'HOST' },
    );
  return {
    port: int(env, 'PORT', 8080),
    host,
    modelPath,
    tokenizerPath,
    modelName: env.MODEL_NAME || undefined,
    apiKey,
    redisUrl: env.REDIS_URL || undefined,
    cacheTtlSeconds: int(env, 'CACHE_TTL_SECONDS', 3600),
    maxBodyBytes: optionalInt(env, 'MAX_BODY_BYTES'),
    maxPromptChars: optionalInt(env, 'MAX_PROMPT_CHARS'),
    maxQueue: int(env, 'MAX_QUEUE', 64),
    writeTimeoutMs: int(env, 'WRITE_TIMEOUT_MS', 30_000),
    cacheTimeoutMs: int(env, 'CACHE_TIMEOUT_MS', 100),
    maxTokens: int(env, 'MAX_TOKENS', 2048),
    maxBatch: Math.max(1, int(env, 'EDGELM_MAX_BATCH', 16)),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000),
    keepAliveMs: int(env, 'KEEPALIVE_MS', 15_000),
    backend,
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  };
}
