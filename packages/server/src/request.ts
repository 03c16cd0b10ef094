import { type ChatCompletionRequest, type ChatMessage, EdgeLMError, type GenerateOptions } from '@edgelm/sdk';
import { badParam } from './openai-error.js';
import {
  parseCompletionGrammar,
  parseStructured,
  type StructuredFields,
  toolMessageFields,
} from './structured.js';
import { refuseUnsupported } from './unsupported.js';

/** Fields common to both endpoints, validated. */
interface Common {
  /** The JSON body as received, for the cache key. */
  body: Record<string, unknown>;
  model: string | undefined;
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number;
  /** Sampling, stop strings and the cache flag, in the SDK's names. */
  options: Omit<GenerateOptions, 'signal' | 'route'>;
}

export interface CompletionCall extends Common {
  kind: 'completion';
  prompt: string | number[];
}

export interface ChatCall extends Common {
  kind: 'chat';
  messages: ChatMessage[];
  /** `response_format`, `tools`, `tool_choice`, checked for shape; the engine compiles them. */
  structured: StructuredFields;
}

type Body = Record<string, unknown>;

function num(b: Body, key: string, min: number, max: number, integer = false): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
    throw badParam(key, `${key} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  return v;
}

function bool(b: Body, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badParam(key, `${key} must be a boolean`);
  return v;
}

/** Bounds a request must respect, checked before any work (tokenization included) starts. */
export interface RequestLimits {
  /** Largest `max_tokens` a request may ask for. */
  maxTokens: number;
  /** Most prompt characters (all message contents together, for chat). */
  maxPromptChars: number;
  /** The model's context in tokens: a token-id prompt longer than this cannot fit. */
  contextLength: number;
}

/**
 * A prompt too long to tokenize safely is refused by its length alone: no tokenizer runs, so a
 * pasted megabyte costs a length check, not seconds of CPU.
 */
function checkPromptSize(param: string, chars: number, limits: RequestLimits): void {
  if (chars > limits.maxPromptChars)
    throw new EdgeLMError(
      'CONTEXT_OVERFLOW',
      `The prompt has ${chars} characters; this server accepts at most ${limits.maxPromptChars} (its context is ${limits.contextLength} tokens)`,
      { param, chars, maxPromptChars: limits.maxPromptChars },
    );
}

function common(b: Body, maxTokensLimit: number): Common {
  refuseUnsupported(b);
  if (b.model !== undefined && b.model !== null && typeof b.model !== 'string')
    throw badParam('model', 'model must be a string');
  const key =
    b.max_completion_tokens !== undefined && b.max_completion_tokens !== null
      ? 'max_completion_tokens'
      : 'max_tokens';
  const requested = num(b, key, 1, Number.MAX_SAFE_INTEGER, true);
  if (requested !== undefined && requested > maxTokensLimit)
    throw badParam(key, `${key} is ${requested}; this server allows at most ${maxTokensLimit}`);
  const stop = b.stop;
  if (
    stop !== undefined &&
    stop !== null &&
    typeof stop !== 'string' &&
    !(Array.isArray(stop) && stop.length <= 16 && stop.every((s) => typeof s === 'string'))
  )
    throw badParam('stop', 'stop must be a string or an array of at most 16 strings');
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so)))
    throw badParam('stream_options', 'stream_options must be an object');
  const maxTokens = requested ?? Math.min(256, maxTokensLimit);
  return {
    body: b,
    model: typeof b.model === 'string' ? b.model : undefined,
    stream: bool(b, 'stream') ?? false,
    includeUsage: (so as { include_usage?: unknown } | undefined)?.include_usage === true,
    maxTokens,
    options: {
      maxTokens,
      temperature: num(b, 'temperature', 0, 2),
      topP: num(b, 'top_p', 0, 1),
      topK: num(b, 'top_k', 0, 1 << 20, true),
      minP: num(b, 'min_p', 0, 1),
      repetitionPenalty: num(b, 'repetition_penalty', 0.01, 10),
      seed: num(b, 'seed', -(2 ** 53), 2 ** 53, true),
      stop: typeof stop === 'string' ? [stop] : ((stop as string[] | undefined | null) ?? undefined),
      cache: bool(b, 'cache'),
    },
  };
}

function asBody(raw: unknown): Body {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw badParam('body', 'The request body must be a JSON object');
  return raw as Body;
}

/** Validates a `/v1/completions` body. */
export function parseCompletion(raw: unknown, limits: RequestLimits): CompletionCall {
  const b = asBody(raw);
  let prompt = b.prompt;
  // OpenAI also takes a batch of prompts; a batch of one is the same request.
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  const isTokens = Array.isArray(prompt) && prompt.every((t) => Number.isInteger(t) && (t as number) >= 0);
  if (typeof prompt !== 'string' && !isTokens)
    throw badParam('prompt', 'prompt must be a string or an array of token ids (batches are not supported)');
  if (typeof prompt === 'string') checkPromptSize('prompt', prompt.length, limits);
  else if ((prompt as number[]).length > limits.contextLength)
    throw new EdgeLMError(
      'CONTEXT_OVERFLOW',
      `The prompt has ${(prompt as number[]).length} tokens; the context is ${limits.contextLength}`,
      { param: 'prompt' },
    );
  const c = common(b, limits.maxTokens);
  return {
    kind: 'completion',
    prompt: prompt as string | number[],
    ...c,
    options: { ...c.options, ...parseCompletionGrammar(b) },
  };
}

const ROLES = new Set(['system', 'user', 'assistant', 'developer', 'tool']);

/** Validates a `/v1/chat/completions` body; text content parts are joined, `developer` is `system`. */
export function parseChat(raw: unknown, limits: RequestLimits): ChatCall {
  const b = asBody(raw);
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw badParam('messages', 'messages must be a non-empty array');
  const messages = b.messages.map((m, i): ChatMessage => {
    const msg = m as { role?: unknown; content?: unknown; tool_calls?: unknown };
    if (typeof msg?.role !== 'string' || !ROLES.has(msg.role))
      throw badParam(`messages[${i}].role`, 'role must be system, developer, user, assistant or tool');
    const calls = toolMessageFields(msg as Record<string, unknown>, i);
    // An assistant turn that only called tools has no content.
    if (msg.role === 'assistant' && calls.tool_calls && (msg.content === null || msg.content === undefined))
      return { role: 'assistant', content: null, ...calls };
    let content = msg.content;
    if (Array.isArray(content))
      content = content
        .map((part: { type?: unknown; text?: unknown }) => {
          if (part?.type !== 'text' || typeof part.text !== 'string')
            throw badParam(`messages[${i}].content`, 'Only text content parts are supported');
          return part.text;
        })
        .join('');
    if (typeof content !== 'string') throw badParam(`messages[${i}].content`, 'content must be a string');
    const role = msg.role === 'developer' ? 'system' : (msg.role as ChatMessage['role']);
    return { role, content, ...calls };
  });
  checkPromptSize(
    'messages',
    messages.reduce((n, m) => n + (m.content ?? '').length, 0),
    limits,
  );
  return { kind: 'chat', messages, structured: parseStructured(b), ...common(b, limits.maxTokens) };
}

/** The SDK chat request for a validated call. */
export function toChatRequest(call: ChatCall, signal: AbortSignal): ChatCompletionRequest {
  const o = call.options;
  return {
    messages: call.messages,
    max_tokens: call.maxTokens,
    temperature: o.temperature,
    top_p: o.topP,
    top_k: o.topK,
    min_p: o.minP,
    repetition_penalty: o.repetitionPenalty,
    seed: o.seed,
    stop: o.stop,
    cache: o.cache,
    signal,
    ...call.structured,
  };
}
