import type { EdgeLMErrorCode } from '../errors.js';

/**
 * When and whether requests may leave the device.
 *
 * @example
 * ```ts
 * const fallback: FallbackPolicy = {
 *   url: 'https://llm.example.com/v1',
 *   model: 'llama-3.1-8b-instruct',
 *   when: { promptTooLong: true, modelTooLarge: true, noBackend: true, onLocalFailure: false },
 *   privacy: 'allow-remote',
 * };
 * ```
 */
export interface FallbackPolicy {
  /** Base URL of an OpenAI-compatible server (edgelm's, vLLM, llama.cpp server, Ollama). */
  url: string;
  apiKey?: string;
  model?: string;
  /**
   * Which local shortcomings send a request to the server. `promptTooLong`, `modelTooLarge` and
   * `noBackend` default to true; `onLocalFailure` (retry remotely after the local run failed,
   * e.g. device lost) defaults to false because the caller may already have shown partial text.
   */
  when?: { promptTooLong?: boolean; modelTooLarge?: boolean; noBackend?: boolean; onLocalFailure?: boolean };
  /** `'local-only'` never sends a byte to the server, whatever else says so. */
  privacy: 'local-only' | 'allow-remote';
}

/** What the device can do, as known before the request starts. Unknown fields are not judged. */
export interface LocalCapacity {
  /** False when no backend could be created (no WebGPU and no CPU fallback, or loading failed). */
  backendAvailable: boolean;
  /** Context length of the local model (prompt + generated tokens must fit). */
  contextLength?: number;
  /** Bytes of the model's weights. */
  modelBytes?: number;
  /** Memory the backend may use for weights and KV (device budget, `navigator.deviceMemory`, …). */
  memoryBytes?: number;
  /** Largest single tensor of the model. */
  largestTensorBytes?: number;
  /** Largest buffer the device can bind (WebGPU `maxStorageBufferBindingSize`). */
  maxBufferBytes?: number;
}

export interface RouteInput {
  /** Undefined when no server is configured: everything stays local. */
  fallback?: FallbackPolicy;
  /** The request's own choice (`GenerateOptions.route`), default 'auto'. */
  route?: 'auto' | 'local' | 'remote';
  promptTokens: number;
  maxTokens: number;
  local: LocalCapacity;
}

/** Why the local side cannot serve a request: the error to throw when it may not go remote either. */
export interface LocalProblem {
  code: Extract<EdgeLMErrorCode, 'CONTEXT_OVERFLOW' | 'OUT_OF_MEMORY' | 'NO_BACKEND' | 'POLICY_DENIED'>;
  message: string;
}

export interface RouteDecision {
  target: 'local' | 'remote';
  /** Human-readable, copied to `GenerateResult.routeReason`. */
  reason: string;
  /**
   * Set only when `target` is 'local' but the request cannot run locally and may not go remote:
   * the engine throws `new EdgeLMError(failure.code, failure.message)` without starting work.
   */
  failure?: LocalProblem;
}

type Condition = 'promptTooLong' | 'modelTooLarge' | 'noBackend';

/** The first thing that stops the device from serving this request, if any. */
function localProblem(input: RouteInput): { condition: Condition; problem: LocalProblem } | undefined {
  const l = input.local;
  if (!l.backendAvailable)
    return { condition: 'noBackend', problem: { code: 'NO_BACKEND', message: 'no usable local backend' } };
  if (l.modelBytes !== undefined && l.memoryBytes !== undefined && l.modelBytes > l.memoryBytes)
    return {
      condition: 'modelTooLarge',
      problem: {
        code: 'OUT_OF_MEMORY',
        message: `model needs ${l.modelBytes} bytes, the device allows ${l.memoryBytes}`,
      },
    };
  if (
    l.largestTensorBytes !== undefined &&
    l.maxBufferBytes !== undefined &&
    l.largestTensorBytes > l.maxBufferBytes
  )
    return {
      condition: 'modelTooLarge',
      problem: {
        code: 'OUT_OF_MEMORY',
        message: `a ${l.largestTensorBytes}-byte tensor exceeds the device's ${l.maxBufferBytes}-byte buffer limit`,
      },
    };
  const needed = input.promptTokens + input.maxTokens;
  if (l.contextLength !== undefined && needed > l.contextLength)
    return {
      condition: 'promptTooLong',
      problem: {
        code: 'CONTEXT_OVERFLOW',
        message: `${input.promptTokens} prompt + ${input.maxTokens} new tokens exceed the local context of ${l.contextLength}`,
      },
    };
  return undefined;
}

const CONDITION_DEFAULTS: Record<Condition, boolean> = {
  promptTooLong: true,
  modelTooLarge: true,
  noBackend: true,
};

/**
 * Decides, before any work starts, where one request runs. Pure: same input, same answer.
 *
 * - `route: 'remote'` goes remote when a server is configured and privacy allows, else it is
 *   refused with POLICY_DENIED.
 * - `route: 'local'` stays local; if the device cannot serve it the decision carries the failure.
 * - `'auto'` stays local when the device can serve the request; otherwise it goes remote when a
 *   server is configured, privacy is `'allow-remote'` and the matching `when` flag is not false,
 *   and fails with the local problem (CONTEXT_OVERFLOW, OUT_OF_MEMORY, NO_BACKEND) when not.
 *
 * @example
 * ```ts
 * const d = decideRoute({ fallback, promptTokens: 900, maxTokens: 128,
 *   local: { backendAvailable: true, contextLength: 512 } });
 * if (d.failure) throw new EdgeLMError(d.failure.code, d.failure.message);
 * // d = { target: 'remote', reason: '900 prompt + 128 new tokens exceed the local context of 512' }
 * ```
 */
export function decideRoute(input: RouteInput): RouteDecision {
  const { fallback } = input;
  const remoteAllowed = fallback !== undefined && fallback.privacy === 'allow-remote';
  const route = input.route ?? 'auto';
  if (route === 'remote') {
    if (remoteAllowed) return { target: 'remote', reason: "route: 'remote' requested" };
    const message =
      fallback === undefined
        ? "route: 'remote' requested but no fallback server is configured"
        : "route: 'remote' requested but privacy is 'local-only'";
    return { target: 'local', reason: message, failure: { code: 'POLICY_DENIED', message } };
  }
  const found = localProblem(input);
  if (found === undefined)
    return {
      target: 'local',
      reason: route === 'local' ? "route: 'local' requested" : 'fits the local device',
    };
  const { condition, problem } = found;
  if (route === 'local')
    return { target: 'local', reason: `route: 'local' requested; ${problem.message}`, failure: problem };
  if (remoteAllowed && (fallback.when?.[condition] ?? CONDITION_DEFAULTS[condition]))
    return { target: 'remote', reason: problem.message };
  const why =
    fallback === undefined
      ? 'no fallback server is configured'
      : fallback.privacy === 'local-only'
        ? "privacy is 'local-only'"
        : `fallback.when.${condition} is false`;
  return { target: 'local', reason: `${problem.message}; ${why}`, failure: problem };
}

/** Local failures that a second try on a server can fix; usage errors would fail there too. */
const RECOVERABLE_REMOTELY: ReadonlySet<EdgeLMErrorCode> = new Set([
  'DEVICE_LOST',
  'OUT_OF_MEMORY',
  'GPU_ERROR',
  'NO_BACKEND',
]);

/**
 * After a local run failed: may the request be retried on the server? Only with
 * `privacy: 'allow-remote'`, `when.onLocalFailure: true` and a device-side error code.
 *
 * @example
 * ```ts
 * catch (e) {
 *   const d = isEdgeLMError(e) ? decideAfterLocalFailure(fallback, e.code) : undefined;
 *   if (d) return remote.generate(prompt, { ...opts, routeReason: d.reason });
 *   throw e;
 * }
 * ```
 */
export function decideAfterLocalFailure(
  fallback: FallbackPolicy | undefined,
  code: EdgeLMErrorCode,
): RouteDecision | undefined {
  if (fallback === undefined || fallback.privacy !== 'allow-remote' || fallback.when?.onLocalFailure !== true)
    return undefined;
  if (!RECOVERABLE_REMOTELY.has(code)) return undefined;
  return { target: 'remote', reason: `local run failed with ${code}; retried remotely` };
}
