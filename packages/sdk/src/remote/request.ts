import type { ChatCompletionRequest, GenerateOptions } from '../api/types.js';
import { specToGbnf } from '../grammar/grammar-spec.js';

/** A JSON body for an OpenAI-compatible endpoint. */
export type OpenAIBody = Record<string, unknown>;

/**
 * The SDK defaults to greedy decoding while OpenAI defaults to temperature 1, so temperature is
 * always sent. Parameters outside OpenAI's own set (top_k, min_p, repetition_penalty: understood
 * by vLLM, llama.cpp server and ours) are sent only when the caller set them, because strict
 * servers reject fields they do not know.
 */
function samplingFields(o: {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string | string[];
  cache?: boolean;
}): OpenAIBody {
  const body: OpenAIBody = { temperature: o.temperature ?? 0 };
  if (o.topP !== undefined) body.top_p = o.topP;
  if (o.topK !== undefined) body.top_k = o.topK;
  if (o.minP !== undefined) body.min_p = o.minP;
  if (o.repetitionPenalty !== undefined) body.repetition_penalty = o.repetitionPenalty;
  if (o.seed !== undefined) body.seed = o.seed;
  if (o.stop !== undefined && o.stop.length > 0) body.stop = o.stop;
  if (o.cache !== undefined) body.cache = o.cache;
  return body;
}

const STREAM = { stream: true, stream_options: { include_usage: true } } as const;

/** Body of `POST /v1/completions` for `generate(prompt, opts)`; token-id prompts are sent as arrays. */
export function completionBody(
  prompt: string | ArrayLike<number>,
  opts: GenerateOptions,
  model: string | undefined,
): OpenAIBody {
  return {
    ...(model === undefined ? {} : { model }),
    prompt: typeof prompt === 'string' ? prompt : Array.from(prompt),
    max_tokens: opts.maxTokens ?? 256,
    ...samplingFields(opts),
    ...grammarFields(opts),
    ...STREAM,
  };
}

/** Constraints travel as llama.cpp's server spells them for completions: `json_schema` or GBNF `grammar`. */
function grammarFields(opts: GenerateOptions): OpenAIBody {
  if (opts.jsonSchema !== undefined) return { json_schema: opts.jsonSchema };
  const g = opts.grammar;
  if (g === undefined) return {};
  if (typeof g === 'string' || g.type === 'gbnf') return { grammar: typeof g === 'string' ? g : g.grammar };
  if (g.type === 'json_schema') return { json_schema: g.schema };
  if (g.type === 'json') return { response_format: { type: 'json_object' } };
  return { grammar: specToGbnf(g).gbnf };
}

/** Body of `POST /v1/chat/completions`; the request's own `model` wins over the client default. */
export function chatBody(req: ChatCompletionRequest, model: string | undefined): OpenAIBody {
  const chosenModel = req.model ?? model;
  return {
    ...(chosenModel === undefined ? {} : { model: chosenModel }),
    messages: req.messages.map(({ role, content, tool_calls, tool_call_id, name }) => ({
      role,
      content,
      ...(tool_calls ? { tool_calls } : {}),
      ...(tool_call_id ? { tool_call_id } : {}),
      ...(name ? { name } : {}),
    })),
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? 256,
    ...samplingFields({
      temperature: req.temperature,
      topP: req.top_p,
      topK: req.top_k,
      minP: req.min_p,
      repetitionPenalty: req.repetition_penalty,
      seed: req.seed,
      stop: req.stop,
      cache: req.cache,
    }),
    // Structured output passes through unchanged, so the remote gives the same guarantees.
    ...(req.response_format ? { response_format: req.response_format } : {}),
    ...(req.tools ? { tools: req.tools } : {}),
    ...(req.tool_choice ? { tool_choice: req.tool_choice } : {}),
    ...STREAM,
  };
}
