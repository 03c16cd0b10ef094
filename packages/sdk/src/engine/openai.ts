import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatFinishReason,
  ChatToolCall,
  GenerateOptions,
  GenerateResult,
  GenerateStream,
} from '../api/types.js';
import { EdgeLMError } from '../errors.js';
import { constrainedTools, type ToolCallFormat } from '../grammar/tool-calls.js';

/** How a chat request's output is read back: as content, or as calls in the template's syntax. */
export interface ChatOutputMode {
  /** Set when the request declared tools (and `tool_choice` is not 'none'). */
  tools: ToolCallFormat | null;
}

/** Maps OpenAI's request fields onto edgelm's generation options. */
export function chatToGenerateOptions(req: ChatCompletionRequest, format?: ToolCallFormat): GenerateOptions {
  const opts: GenerateOptions = {
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
  const rf = req.response_format;
  if (rf?.type === 'json_object') opts.grammar = { type: 'json' };
  else if (rf?.type === 'json_schema') opts.jsonSchema = rf.json_schema.schema ?? true;
  else if (rf && rf.type !== 'text')
    throw new EdgeLMError(
      'INVALID_ARGUMENT',
      `Unknown response_format type ${JSON.stringify((rf as { type: unknown }).type)}`,
    );
  const forced = constrainedTools(req.tools, req.tool_choice);
  if (forced) {
    if (opts.grammar || opts.jsonSchema)
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        'A forced tool_choice and a JSON response_format exclude each other',
      );
    if (!format) throw new EdgeLMError('INVALID_ARGUMENT', 'No tool-call format for this model');
    opts.grammar = format.grammar(forced);
  }
  return opts;
}

function summary(r: GenerateResult): Omit<GenerateResult, 'text' | 'tokens'> {
  const { text: _t, tokens: _k, toolCalls: _c, ...rest } = r;
  return rest;
}

/** The calls in `text` in OpenAI's shape (arguments as JSON text), or null. */
function toolCallsOf(text: string, mode: ChatOutputMode, id: string): ChatToolCall[] | null {
  const calls = mode.tools?.parse(text);
  if (!calls) return null;
  return calls.map((c, i) => ({
    id: `call_${id.replace(/^chatcmpl-/, '')}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: JSON.stringify(c.arguments) },
  }));
}

/** Calls a remote server made arrive structured, not as text to parse. */
function remoteCalls(r: GenerateResult): ChatToolCall[] | null {
  return r.toolCalls && r.toolCalls.length > 0 ? r.toolCalls : null;
}

function finishOf(r: GenerateResult, calls: ChatToolCall[] | null): ChatFinishReason {
  return calls ? 'tool_calls' : r.finishReason;
}

/** Collects a stream into one `chat.completion` object. */
export async function toChatCompletion(
  stream: GenerateStream,
  id: string,
  model: string,
  mode: ChatOutputMode = { tools: null },
): Promise<ChatCompletion> {
  for await (const _ of stream) {
    // drain: the result carries the whole text
  }
  const r = await stream.result;
  const calls = toolCallsOf(r.text, mode, id) ?? remoteCalls(r);
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: calls
          ? { role: 'assistant', content: null, tool_calls: calls }
          : { role: 'assistant', content: r.text },
        finish_reason: finishOf(r, calls),
      },
    ],
    usage: {
      prompt_tokens: r.usage.promptTokens,
      completion_tokens: r.usage.completionTokens,
      total_tokens: r.usage.totalTokens,
    },
    edgelm: summary(r),
  };
}

/**
 * Re-shapes a stream as `chat.completion.chunk`s: a role delta, content deltas, then a finish chunk
 * with usage. With tools declared, output that starts like a call is held back (it is a call, not
 * content) and sent as `delta.tool_calls` once complete; anything else streams as content.
 */
export async function* toChatChunks(
  stream: GenerateStream,
  id: string,
  model: string,
  mode: ChatOutputMode = { tools: null },
): AsyncGenerator<ChatCompletionChunk> {
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: 'chat.completion.chunk' as const, created, model };
  yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  const opener = mode.tools?.opener;
  let held = opener === undefined ? null : '';
  for await (const chunk of stream) {
    if (!chunk.text) continue;
    let text = chunk.text;
    if (held !== null) {
      held += text;
      const lead = held.trimStart();
      if (opener!.startsWith(lead) || lead.startsWith(opener!)) continue; // a call, or maybe one
      text = held;
      held = null;
    }
    yield { ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] };
  }
  const r = await stream.result;
  const calls = (held !== null ? toolCallsOf(r.text, mode, id) : null) ?? remoteCalls(r);
  if (held && !calls)
    yield { ...base, choices: [{ index: 0, delta: { content: held }, finish_reason: null }] };
  if (calls)
    yield {
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: calls.map((c, index) => ({
              index,
              id: c.id,
              type: 'function',
              function: c.function,
            })),
          },
          finish_reason: null,
        },
      ],
    };
  yield {
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: finishOf(r, calls) }],
    usage: {
      prompt_tokens: r.usage.promptTokens,
      completion_tokens: r.usage.completionTokens,
      total_tokens: r.usage.totalTokens,
    },
    edgelm: summary(r),
  };
}
