import type { Piece, Summary } from './generation.js';

/** Identity of one response, shared by all its chunks. */
export interface ResponseMeta {
  kind: 'chat' | 'completion';
  id: string;
  created: number;
  model: string;
}

function usage(s: Summary) {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.completionTokens,
    total_tokens: s.promptTokens + s.completionTokens,
  };
}

/** edgelm extension read by the SDK's remote client; other clients ignore it. */
function edgelm(s: Summary) {
  return { cached: s.cached, prefixTokensReused: s.prefixTokensReused };
}

function base(m: ResponseMeta) {
  return {
    id: m.id,
    object: m.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: m.created,
    model: m.model,
  };
}

/** The chat stream opens with the assistant role, as OpenAI's does. */
export function openingChunk(m: ResponseMeta): object | undefined {
  if (m.kind !== 'chat') return undefined;
  return {
    ...base(m),
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  };
}

/** One streamed piece. Token ids travel in `token_ids`, the field vLLM uses for them too. */
export function pieceChunk(m: ResponseMeta, p: Piece): object {
  const ids = p.token >= 0 ? { token_ids: [p.token] } : {};
  if (m.kind === 'chat')
    return { ...base(m), choices: [{ index: 0, delta: { content: p.text }, finish_reason: null, ...ids }] };
  return { ...base(m), choices: [{ index: 0, text: p.text, logprobs: null, finish_reason: null, ...ids }] };
}

/** Tool calls go out whole in one delta before the finish chunk (llama.cpp's server streams them likewise). */
export function toolCallsChunk(m: ResponseMeta, s: Summary): object | undefined {
  if (m.kind !== 'chat' || !s.toolCalls) return undefined;
  const tool_calls = s.toolCalls.map((c, index) => ({ index, ...c }));
  return { ...base(m), choices: [{ index: 0, delta: { tool_calls }, finish_reason: null }] };
}

export function finishChunk(m: ResponseMeta, s: Summary): object {
  const choice =
    m.kind === 'chat'
      ? { index: 0, delta: {}, finish_reason: s.finishReason }
      : { index: 0, text: '', logprobs: null, finish_reason: s.finishReason };
  return { ...base(m), choices: [choice], edgelm: edgelm(s) };
}

/** Sent only when the request asked with `stream_options.include_usage`, as OpenAI does. */
export function usageChunk(m: ResponseMeta, s: Summary): object {
  return { ...base(m), choices: [], usage: usage(s) };
}

/** The whole answer of a non-streaming request. */
export function fullResponse(m: ResponseMeta, text: string, s: Summary): object {
  const common = { id: m.id, created: m.created, model: m.model, usage: usage(s), edgelm: edgelm(s) };
  if (m.kind === 'chat')
    return {
      ...common,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: s.toolCalls
            ? { role: 'assistant', content: null, tool_calls: s.toolCalls }
            : { role: 'assistant', content: text },
          finish_reason: s.finishReason,
          logprobs: null,
        },
      ],
    };
  return {
    ...common,
    object: 'text_completion',
    choices: [{ index: 0, text, finish_reason: s.finishReason, logprobs: null }],
  };
}
