import type { GenerateChunk, GenerateOptions, GenerateResult, GenerateStream } from '../api/types.js';
import { toEdgeLMError } from '../errors.js';
import { decideAfterLocalFailure, type FallbackPolicy } from '../remote/policy.js';
import { AsyncQueue } from './async-queue.js';

/** Starts the remote half: the prompt to continue from and the options of what is left. */
export type RemoteContinuation = (
  prompt: string | number[],
  options: GenerateOptions & { routeReason: string },
) => GenerateStream;

/**
 * `fallback.when.onLocalFailure`: when a local run fails with a device-side error (DEVICE_LOST,
 * OUT_OF_MEMORY, GPU_ERROR, NO_BACKEND), the request continues on the server from where the
 * device stopped — the prompt plus what was already streamed, for the tokens still allowed — so
 * the caller's text stays one answer. Other failures, and policies that do not allow it, surface
 * as they are. The local stream is drained at once, so `result` settles without iteration too.
 *
 * @example
 * ```ts
 * const stream = withLocalFailureRetry(fallback, prompt, options, engine.generate(prompt, options),
 *   (p, o) => remote.generate(p, o));
 * ```
 */
export function withLocalFailureRetry(
  fallback: FallbackPolicy | undefined,
  prompt: string | readonly number[],
  options: GenerateOptions,
  local: GenerateStream,
  remote: RemoteContinuation,
): GenerateStream {
  const out = new AsyncQueue<GenerateChunk>();
  const source = local[Symbol.asyncIterator]();
  let current: AsyncIterator<GenerateChunk> = source;
  out.onCancel(() => void current.return?.());
  const emitted: GenerateChunk[] = [];

  const pipe = async (it: AsyncIterator<GenerateChunk>, keep: boolean): Promise<void> => {
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      if (keep) emitted.push(next.value);
      out.push(next.value);
    }
  };

  const result = (async (): Promise<GenerateResult> => {
    try {
      await pipe(source, true);
      const r = await local.result;
      out.close();
      return r;
    } catch (e) {
      const err = toEdgeLMError(e);
      const decision = decideAfterLocalFailure(fallback, err.code);
      if (!decision) {
        out.close(err);
        throw err;
      }
      const text = emitted.map((c) => c.text).join('');
      const tokens = emitted.map((c) => c.token).filter((t) => t >= 0);
      const continued = typeof prompt === 'string' ? prompt + text : [...prompt, ...tokens];
      const maxTokens = Math.max(1, (options.maxTokens ?? 256) - tokens.length);
      try {
        const stream = remote(continued, { ...options, maxTokens, routeReason: decision.reason });
        current = stream[Symbol.asyncIterator]();
        await pipe(current, false);
        const r = await stream.result;
        out.close();
        return {
          ...r,
          text: text + r.text,
          tokens: [...tokens, ...r.tokens],
          usage: {
            promptTokens: typeof prompt === 'string' ? r.usage.promptTokens : prompt.length,
            completionTokens: tokens.length + r.usage.completionTokens,
            totalTokens: r.usage.totalTokens + tokens.length,
          },
          servedBy: 'remote',
          routeReason: decision.reason,
        };
      } catch (e2) {
        out.close(e2);
        throw e2;
      }
    }
  })();
  result.catch(() => {});
  return Object.assign(out, { result });
}
