import { EdgeLMError } from '@edgelm/sdk';

type Body = Record<string, unknown>;

/**
 * A field the server would have to ignore although it changes what the answer must be: answered
 * 400 `unsupported_parameter` naming it, because a silently different answer is worse than none.
 */
export function unsupportedParam(param: string, message: string): EdgeLMError {
  return new EdgeLMError('INVALID_ARGUMENT', message, { param, openaiCode: 'unsupported_parameter' });
}

const absent = (v: unknown) => v === undefined || v === null;
const isEmptyObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/**
 * Each rule says when a value asks for something we cannot do; values that ask for nothing
 * (`n: 1`, `logit_bias: {}`, `echo: false`, a zero penalty) are the defaults and pass.
 *
 * Not listed on purpose:
 * - `response_format`, `tools`, `tool_choice`, `parallel_tool_calls`: handled by structured
 *   output (grammar-constrained decoding), not refused here.
 * - metadata that never changes the answer: `user`, `metadata`, `store`, `stream_options`,
 *   `service_tier`, `prediction` (a latency hint: the answer is the same without it).
 */
const RULES: readonly { field: string; asks: (v: unknown) => boolean; why: string }[] = [
  { field: 'n', asks: (v) => v !== 1, why: 'only n = 1 is supported' },
  { field: 'best_of', asks: (v) => v !== 1, why: 'only best_of = 1 is supported' },
  { field: 'echo', asks: (v) => v !== false, why: 'echo is not supported' },
  { field: 'suffix', asks: (v) => v !== '', why: 'suffix (fill-in-the-middle) is not supported' },
  { field: 'logprobs', asks: (v) => v !== false, why: 'logprobs are not supported' },
  { field: 'top_logprobs', asks: (v) => v !== 0, why: 'top_logprobs are not supported' },
  { field: 'logit_bias', asks: (v) => !isEmptyObject(v), why: 'logit_bias is not supported' },
  { field: 'presence_penalty', asks: (v) => v !== 0, why: 'presence_penalty is not supported' },
  { field: 'frequency_penalty', asks: (v) => v !== 0, why: 'frequency_penalty is not supported' },
  {
    field: 'functions',
    asks: (v) => !(Array.isArray(v) && v.length === 0),
    why: 'functions (the legacy function calling) are not supported',
  },
  {
    field: 'function_call',
    asks: (v) => v !== 'none',
    why: 'function_call (the legacy function calling) is not supported',
  },
  {
    field: 'modalities',
    asks: (v) => !(Array.isArray(v) && v.every((m) => m === 'text')),
    why: 'only text output is supported',
  },
  { field: 'audio', asks: () => true, why: 'audio output is not supported' },
  { field: 'web_search_options', asks: () => true, why: 'web search is not supported' },
  // vLLM and llama.cpp extensions clients send to OpenAI-compatible servers.
  { field: 'min_tokens', asks: (v) => v !== 0, why: 'min_tokens is not supported' },
  { field: 'ignore_eos', asks: (v) => v !== false, why: 'ignore_eos is not supported' },
  { field: 'typical_p', asks: (v) => v !== 1, why: 'typical_p is not supported' },
  { field: 'mirostat', asks: (v) => v !== 0, why: 'mirostat is not supported' },
  { field: 'logits_processors', asks: () => true, why: 'logits_processors are not supported' },
  { field: 'guided_json', asks: () => true, why: 'guided_json is not supported; use response_format' },
  { field: 'guided_regex', asks: () => true, why: 'guided_regex is not supported' },
  { field: 'guided_choice', asks: () => true, why: 'guided_choice is not supported' },
  { field: 'guided_grammar', asks: () => true, why: 'guided_grammar is not supported' },
];

/** Throws 400 `unsupported_parameter` for the first field that asks for what we cannot honour. */
export function refuseUnsupported(b: Body): void {
  for (const r of RULES) {
    const v = b[r.field];
    if (!absent(v) && r.asks(v)) throw unsupportedParam(r.field, `${r.field}: ${r.why}`);
  }
}
