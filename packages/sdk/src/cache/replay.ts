import type { GenerateChunk, GenerateResult, GenerateStream } from '../api/types.js';
import type { ResponseEntry } from './response-cache.js';

/**
 * Turns a response-cache entry back into a stream with the shapes of a live generation, the
 * result marked `cached: true`. Replaying costs nothing, so the result is known at once; an
 * abort stops the iteration early, and an abort before the call gives an empty `'abort'` result.
 *
 * @example
 * ```ts
 * const hit = await cache.get(key);
 * if (hit) return replayResponse(hit, { signal });
 * ```
 */
export function replayResponse(entry: ResponseEntry, options: { signal?: AbortSignal } = {}): GenerateStream {
  const started = performance.now();
  const aborted = options.signal?.aborted === true;
  const chunks: readonly GenerateChunk[] = aborted ? [] : entry.chunks;
  const elapsed = performance.now() - started;
  const result: GenerateResult = {
    ...entry.result,
    text: aborted ? '' : entry.result.text,
    tokens: aborted ? [] : entry.result.tokens,
    finishReason: aborted ? 'abort' : entry.result.finishReason,
    usage: aborted
      ? { ...entry.result.usage, completionTokens: 0, totalTokens: entry.result.usage.promptTokens }
      : entry.result.usage,
    timings: { ttftMs: elapsed, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0, totalMs: elapsed },
    prefixTokensReused: 0,
    cached: true,
    servedBy: 'local',
    routeReason: 'response cache hit',
  };
  return {
    result: Promise.resolve(result),
    async *[Symbol.asyncIterator]() {
      for (const chunk of chunks) {
        if (options.signal?.aborted) return;
        yield { text: chunk.text, token: chunk.token };
      }
    },
  };
}
