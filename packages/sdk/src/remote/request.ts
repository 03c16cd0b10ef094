import type { ChatCompletionRequest, GenerateOptions } from '../api/types.js';

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
    ...STREAM,
  };
}

/** Body of `POST /v1/chat/completions`; the request's own `model` wins over the client default. */
export function chatBody(req: ChatCompletionRequest, model: string | undefined): OpenAIBody {
  const chosenModel = req.model ?? model;
  return {
    ...(chosenModel === undefined ? {} : { model: chosenModel }),
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
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
    ...STREAM,
  };
}
