import type {
  ChatCompletionRequest,
  ChatMessage,
  ChatTool,
  ChatToolCall,
  GenerateOptions,
} from '@edgelm/sdk';

type JsonSchema = NonNullable<GenerateOptions['jsonSchema']>;

import { badParam } from './openai-error.js';

type Body = Record<string, unknown>;

/** The structured-output fields of a chat body, in the SDK's shapes. */
export type StructuredFields = Pick<ChatCompletionRequest, 'response_format' | 'tools' | 'tool_choice'>;

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates `response_format`, `tools` and `tool_choice` (the SDK compiles them; this checks shapes). */
export function parseStructured(b: Body): StructuredFields {
  const out: StructuredFields = {};
  const rf = b.response_format;
  if (rf !== undefined && rf !== null) {
    if (!isObject(rf) || !['text', 'json_object', 'json_schema'].includes(rf.type as string))
      throw badParam(
        'response_format',
        "response_format.type must be 'text', 'json_object' or 'json_schema'",
      );
    if (rf.type === 'json_schema') {
      const js = rf.json_schema;
      if (!isObject(js) || typeof js.name !== 'string')
        throw badParam('response_format', 'response_format.json_schema needs a name');
      if (js.schema !== undefined && !isObject(js.schema) && typeof js.schema !== 'boolean')
        throw badParam('response_format', 'response_format.json_schema.schema must be a JSON Schema');
    }
    out.response_format = rf as unknown as StructuredFields['response_format'];
  }
  if (b.tools !== undefined && b.tools !== null) {
    if (!Array.isArray(b.tools)) throw badParam('tools', 'tools must be an array');
    out.tools = b.tools.map((t, i): ChatTool => {
      if (
        !isObject(t) ||
        t.type !== 'function' ||
        !isObject(t.function) ||
        typeof t.function.name !== 'string'
      )
        throw badParam(
          `tools[${i}]`,
          "each tool must be { type: 'function', function: { name, parameters } }",
        );
      const p = t.function.parameters;
      if (p !== undefined && !isObject(p))
        throw badParam(`tools[${i}].function.parameters`, 'parameters must be a JSON Schema');
      return t as unknown as ChatTool;
    });
  }
  const tc = b.tool_choice;
  if (tc !== undefined && tc !== null) {
    const named =
      isObject(tc) && tc.type === 'function' && isObject(tc.function) && typeof tc.function.name === 'string';
    if (!named && !['auto', 'none', 'required'].includes(tc as string))
      throw badParam(
        'tool_choice',
        "tool_choice must be 'auto', 'none', 'required' or { type: 'function', function: { name } }",
      );
    out.tool_choice = tc as StructuredFields['tool_choice'];
  }
  return out;
}

/** The tool-call fields of one message: an assistant's `tool_calls`, a tool result's `tool_call_id`. */
export function toolMessageFields(
  m: Body,
  i: number,
): Pick<ChatMessage, 'tool_calls' | 'tool_call_id' | 'name'> {
  const out: Pick<ChatMessage, 'tool_calls' | 'tool_call_id' | 'name'> = {};
  if (m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls))
      throw badParam(`messages[${i}].tool_calls`, 'tool_calls must be an array');
    out.tool_calls = m.tool_calls.map((c, j): ChatToolCall => {
      if (!isObject(c) || !isObject(c.function) || typeof c.function.name !== 'string')
        throw badParam(`messages[${i}].tool_calls[${j}]`, 'each tool call needs function.name');
      const args = c.function.arguments;
      return {
        id: typeof c.id === 'string' ? c.id : `call_${j}`,
        type: 'function',
        function: {
          name: c.function.name,
          arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
        },
      };
    });
  }
  if (typeof m.tool_call_id === 'string') out.tool_call_id = m.tool_call_id;
  if (typeof m.name === 'string') out.name = m.name;
  return out;
}

/** A completion's constraint, in llama.cpp server's fields: GBNF `grammar`, `json_schema`, or `response_format`. */
export function parseCompletionGrammar(b: Body): Pick<GenerateOptions, 'grammar' | 'jsonSchema'> {
  if (typeof b.grammar === 'string' && b.grammar.length > 0) return { grammar: b.grammar };
  if (b.grammar !== undefined && b.grammar !== null && typeof b.grammar !== 'string')
    throw badParam('grammar', 'grammar must be GBNF text');
  if (isObject(b.json_schema) || typeof b.json_schema === 'boolean')
    return { jsonSchema: b.json_schema as JsonSchema };
  const rf = parseStructured({ response_format: b.response_format }).response_format;
  if (rf?.type === 'json_object') return { grammar: { type: 'json' } };
  if (rf?.type === 'json_schema') return { jsonSchema: rf.json_schema.schema ?? true };
  return {};
}
