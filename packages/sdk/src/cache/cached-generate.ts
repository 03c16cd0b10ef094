import type { GenerateChunk, GenerateOptions, GenerateResult, GenerateStream } from '../api/types.js';
import { replayResponse } from './replay.js';
import type { ResponseCache } from './response-cache.js';
import { isCacheable, type ResponseKeyInput, responseCacheKey } from './response-key.js';

/**
 * Puts the response cache in front of a generation: a cacheable request (see
 * {@link isCacheable}) whose key is stored is replayed with `cached: true`; otherwise `generate`
 * runs, and its chunks are recorded and stored once it finishes (never after an abort).
 *
 * @example
 * ```ts
 * const stream = withResponseCache(cache, { key: { model, prompt, sampling: opts, maxTokens }, options: opts },
 *   () => engine.generate(prompt, opts));
 * ```
 */
export function withResponseCache(
  cache: ResponseCache,
  request: { key: ResponseKeyInput; options?: GenerateOptions },
  generate: () => GenerateStream,
): GenerateStream {
  const options = request.options ?? {};
  if (!isCacheable(options)) return generate();
  const source = (async (): Promise<GenerateStream> => {
    const key = await responseCacheKey(request.key);
    const hit = await cache.get(key);
    if (hit) return replayResponse(hit, { signal: options.signal });
    return recordInto(cache, key, generate());
  })();
  const result = source.then((s) => s.result);
  result.catch(() => {});
  return {
    result,
    async *[Symbol.asyncIterator]() {
      yield* await source;
    },
  };
}

/** Drains `live` at once (so the answer is stored even if nobody iterates) and stores it at the end. */
function recordInto(cache: ResponseCache, key: string, live: GenerateStream): GenerateStream {
  const chunks: GenerateChunk[] = [];
  let finished = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const iterator = live[Symbol.asyncIterator]();
  const drained = (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        chunks.push(next.value);
        wake?.();
      }
    } catch (e) {
      failure = e;
    } finally {
      finished = true;
      wake?.();
    }
  })();
  const result = (async (): Promise<GenerateResult> => {
    const r = await live.result;
    await drained;
    if (r.finishReason !== 'abort' && failure === undefined)
      await cache.put(key, { chunks, result: r }).catch(() => {});
    return r;
  })();
  result.catch(() => {});
  return {
    result,
    async *[Symbol.asyncIterator]() {
      let i = 0;
      try {
        for (;;) {
          while (i < chunks.length) yield chunks[i++];
          if (finished) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        if (failure !== undefined) throw failure;
      } finally {
        // A consumer that stops early cancels the generation, which is then not stored.
        if (!finished) await iterator.return?.();
      }
    },
  };
}
