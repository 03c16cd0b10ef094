import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  GenerateOptions,
  GenerateResult,
  GenerateStream,
} from '../api/types.js';

/** Maps OpenAI's request fields onto edgelm's generation options. */
export function chatToGenerateOptions(req: ChatCompletionRequest): GenerateOptions {
  return {
    maxTokens: req.max_completion_tokens ?? req.max_tokens,
    temperature: req.temperature,
    topP: req.top_p,
    topK: req.top_k,
    minP: req.min_p,
    repetitionPenalty: req.repetition_penalty,
    seed: req.seed,
    stop: typeof req.stop === 'string' ? [req.stop] : req.stop,
    signal: req.signal,
    cache: req.cache,
  };
}

function summary(r: GenerateResult): Omit<GenerateResult, 'text' | 'tokens'> {
  const { text: _t, tokens: _k, ...rest } = r;
  return rest;
}

/** Collects a stream into one `chat.completion` object. */
export async function toChatCompletion(
  stream: GenerateStream,
  id: string,
  model: string,
): Promise<ChatCompletion> {
  for await (const _ of stream) {
    // drain: the result carries the whole text
  }
  const r = await stream.result;
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: r.finishReason }],
    usage: {
      prompt_tokens: r.usage.promptTokens,
      completion_tokens: r.usage.completionTokens,
      total_tokens: r.usage.totalTokens,
    },
    edgelm: summary(r),
  };
}

/** Re-shapes a stream as `chat.completion.chunk`s: a role delta, content deltas, then a finish chunk with usage. */
export async function* toChatChunks(
  stream: GenerateStream,
  id: string,
  model: string,
): AsyncGenerator<ChatCompletionChunk> {
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: 'chat.completion.chunk' as const, created, model };
  yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  for await (const chunk of stream) {
    if (chunk.text)
      yield { ...base, choices: [{ index: 0, delta: { content: chunk.text }, finish_reason: null }] };
  }
  const r = await stream.result;
  yield {
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: r.finishReason }],
    usage: {
      prompt_tokens: r.usage.promptTokens,
      completion_tokens: r.usage.completionTokens,
      total_tokens: r.usage.totalTokens,
    },
    edgelm: summary(r),
  };
}
