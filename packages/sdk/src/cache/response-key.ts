import type { ChatMessage, GenerateOptions } from '../api/types.js';
import { EdgeLMError } from '../errors.js';
import { isDeterministic, resolveSampling, type SamplingParams } from '../sampler/params.js';
import { sha256Hex } from './digest.js';

/** Everything a generated answer depends on. */
export interface ResponseKeyInput {
  /** Identifies the weights: a content digest where known, else a stable id such as the URL. */
  model: string;
  /** The chat template source (null for raw prompts). */
  template?: string | null;
  sampling?: SamplingParams;
  maxTokens?: number;
  stop?: string[];
  /** The grammar constraining the output (a spec, canonical JSON), when there is one. */
  constraint?: unknown;
  /** A raw prompt, as text or token ids… */
  prompt?: string | readonly number[];
  /** …or chat messages. */
  messages?: readonly ChatMessage[];
}

/**
 * The response-cache key: SHA-256 hex of the canonical JSON of what the answer depends on.
 * Greedy requests ignore the parameters greedy decoding ignores (seed, topK, topP, minP), so
 * that "temperature 0" and "temperature 0, seed 7" share one entry.
 *
 * @example
 * ```ts
 * const key = await responseCacheKey({ model: 'stories260K', prompt: 'Once upon a time', sampling: {} });
 * ```
 */
export async function responseCacheKey(input: ResponseKeyInput): Promise<string> {
  const s = resolveSampling(input.sampling);
  const greedy = s.temperature <= 0;
  const sampling = greedy
    ? { temperature: 0, repetitionPenalty: s.repetitionPenalty, repetitionWindow: s.repetitionWindow }
    : // An unseeded request draws a new seed each time; its key must not depend on that draw.
      { ...s, seed: input.sampling?.seed ?? null };
  return sha256Hex(
    canonicalJson({
      v: 1,
      model: input.model,
      template: input.template ?? null,
      sampling,
      maxTokens: input.maxTokens ?? null,
      stop: input.stop ?? [],
      constraint: (input.constraint ?? null) as Json,
      prompt: input.prompt ?? null,
      messages: input.messages?.map(({ role, content }) => ({ role, content })) ?? null,
    }),
  );
}

/**
 * Whether a request may be answered from, and stored in, the response cache: `cache: true` or
 * `false` decides; otherwise only requests whose output is fixed by their input (greedy, or
 * sampled with an explicit seed).
 */
export function isCacheable(options: Pick<GenerateOptions, 'cache' | 'temperature' | 'seed'>): boolean {
  return options.cache ?? isDeterministic(options);
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };

/** JSON with sorted object keys and no undefined members, so equal values give equal text. */
export function canonicalJson(value: Json | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EdgeLMError('INVALID_ARGUMENT', `Cannot key on ${value}`);
    return JSON.stringify(value === 0 ? 0 : value);
  }
  if (typeof value !== 'object') return JSON.stringify(value);
  if (isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const members = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
  return `{${members.join(',')}}`;
}

// Array.isArray does not narrow readonly arrays.
function isArray(v: Json): v is readonly Json[] {
  return Array.isArray(v);
}
