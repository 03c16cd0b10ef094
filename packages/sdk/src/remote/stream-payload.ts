import type { ChatToolCallDelta, FinishReason, Usage } from '../api/types.js';
import { EdgeLMError } from '../errors.js';
import { openAIErrorFields } from './openai-error.js';
import { parseToolCallDeltas } from './tool-call-deltas.js';

/** What one `data:` event of an OpenAI-compatible stream told us, reduced to the fields we use. */
export interface StreamDelta {
  text: string;
  /** Token ids when the server reports them (ours and vLLM's `token_ids`), else empty. */
  tokenIds: number[];
  /** Fragments of tool calls (`delta.tool_calls`), joined by the client. */
  toolCalls: ChatToolCallDelta[];
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  /** edgelm servers say whether the answer came from their response cache and how much prefix they reused. */
  cached: boolean | undefined;
  prefixTokensReused: number | undefined;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** OpenAI's finish reasons plus the ones other servers use; anything unknown ended normally. */
export function toFinishReason(v: unknown): FinishReason | undefined {
  if (v === null || v === undefined) return undefined;
  if (v === 'length') return 'length';
  if (v === 'abort') return 'abort';
  return 'stop';
}

/**
 * Parses one event's JSON for chat (`choices[0].delta.content`) or text completions
 * (`choices[0].text`). An `error` object inside the stream, which vLLM and OpenAI send when
 * generation fails after the headers went out, becomes REMOTE_HTTP.
 */
export function parseStreamEvent(data: string): StreamDelta {
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    throw new EdgeLMError('REMOTE_PROTOCOL', `Stream event is not JSON: ${data.slice(0, 120)}`);
  }
  if (!isObject(payload)) throw new EdgeLMError('REMOTE_PROTOCOL', 'Stream event is not a JSON object');
  if (payload.error !== undefined) {
    const { message, type, code, param } = openAIErrorFields(payload.error);
    throw new EdgeLMError('REMOTE_HTTP', `Server error in stream: ${message ?? 'unknown'}`, {
      type,
      code,
      param,
    });
  }
  const delta: StreamDelta = {
    text: '',
    tokenIds: [],
    toolCalls: [],
    finishReason: undefined,
    usage: undefined,
    cached: undefined,
    prefixTokensReused: undefined,
  };
  const choices = payload.choices;
  if (Array.isArray(choices) && isObject(choices[0])) {
    const c = choices[0];
    if (typeof c.text === 'string') delta.text = c.text;
    else if (isObject(c.delta) && typeof c.delta.content === 'string') delta.text = c.delta.content;
    if (isObject(c.delta)) delta.toolCalls = parseToolCallDeltas(c.delta.tool_calls);
    if (Array.isArray(c.token_ids))
      delta.tokenIds = c.token_ids.filter((t): t is number => typeof t === 'number');
    delta.finishReason = toFinishReason(c.finish_reason);
  } else if (choices !== undefined && !Array.isArray(choices)) {
    throw new EdgeLMError('REMOTE_PROTOCOL', 'Stream event has a non-array "choices"');
  }
  if (isObject(payload.usage)) {
    const u = payload.usage;
    const promptTokens = Number(u.prompt_tokens ?? 0);
    const completionTokens = Number(u.completion_tokens ?? 0);
    delta.usage = {
      promptTokens,
      completionTokens,
      totalTokens: Number(u.total_tokens ?? promptTokens + completionTokens),
    };
  }
  if (isObject(payload.edgelm)) {
    if (typeof payload.edgelm.cached === 'boolean') delta.cached = payload.edgelm.cached;
    if (typeof payload.edgelm.prefixTokensReused === 'number')
      delta.prefixTokensReused = payload.edgelm.prefixTokensReused;
  }
  return delta;
}
