import { EdgeLMError } from '../errors.js';
import type { JsonSchema } from './json-schema.js';
import { jsonSchemaToGbnf, literal } from './json-schema.js';

/** A function the model may call (OpenAI's `tools[i]`). */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: JsonSchema; strict?: boolean };
}

/** OpenAI's `tool_choice`. */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

/** A call the model made, as OpenAI returns it (`arguments` is JSON text). */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * How a model family writes a call, declared by its chat template (the same detection llama.cpp's
 * chat parser does on the template source): Qwen/Hermes `<tool_call>{…}</tool_call>`, Llama 3.1
 * bare `{"name": …, "parameters": …}`, Mistral `[TOOL_CALLS][{…}]`.
 */
export interface ToolCallFormat {
  name: 'hermes' | 'llama3' | 'mistral';
  /** Text that opens a call; output starting with it is a call, not content. */
  opener: string;
  /** GBNF of one call to one of `tools` (the grammar `tool_choice` constrains to). */
  grammar(tools: readonly ChatTool[]): string;
  /** The calls in a finished output, or null when it holds none. */
  parse(text: string): { name: string; arguments: unknown }[] | null;
}

/** The call syntax a chat template declares; Hermes-style for templates that declare none. */
export function toolCallFormat(template: string | undefined): ToolCallFormat {
  const t = template ?? '';
  if (t.includes('[TOOL_CALLS]')) return MISTRAL;
  if (t.includes('<tool_call>')) return HERMES;
  if (t.includes('<|python_tag|>') || t.includes('"parameters"')) return LLAMA3;
  return HERMES;
}

/** One JSON object per call, `{ <nameKey>: <a declared name>, <argsKey>: <its parameters> }`. */
function callSchema(tools: readonly ChatTool[], argsKey: string): JsonSchema {
  if (tools.length === 0) throw new EdgeLMError('INVALID_ARGUMENT', '`tool_choice` needs at least one tool');
  return {
    anyOf: tools.map((t) => ({
      type: 'object',
      properties: {
        name: { const: t.function.name },
        [argsKey]: t.function.parameters ?? { type: 'object' },
      },
      required: ['name', argsKey],
    })),
  };
}

/** The schema's grammar with its root renamed, wrapped in the format's fixed text. */
function wrapped(schema: JsonSchema, before: string, after: string): string {
  const body = jsonSchemaToGbnf(schema, 'call');
  return `root ::= ${before ? `${literal(before)} ` : ''}call${after ? ` ${literal(after)}` : ''}\n${body}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asCall(v: unknown, argsKey: string): { name: string; arguments: unknown } | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.name !== 'string') return null;
  const args = o[argsKey] ?? o.arguments ?? {};
  return { name: o.name, arguments: typeof args === 'string' ? (parseJson(args) ?? args) : args };
}

const HERMES: ToolCallFormat = {
  name: 'hermes',
  opener: '<tool_call>',
  grammar: (tools) => wrapped(callSchema(tools, 'arguments'), '<tool_call>\n', '\n</tool_call>'),
  parse(text) {
    const calls = [];
    for (const m of text.matchAll(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g)) {
      const call = asCall(parseJson(m[1]!.trim()), 'arguments');
      if (call) calls.push(call);
    }
    return calls.length > 0 ? calls : null;
  },
};

const LLAMA3: ToolCallFormat = {
  name: 'llama3',
  opener: '{',
  grammar: (tools) => wrapped(callSchema(tools, 'parameters'), '', ''),
  parse(text) {
    const call = asCall(parseJson(text.replace('<|python_tag|>', '').trim()), 'parameters');
    return call ? [call] : null;
  },
};

const MISTRAL: ToolCallFormat = {
  name: 'mistral',
  opener: '[TOOL_CALLS]',
  grammar: (tools) => wrapped(callSchema(tools, 'arguments'), '[TOOL_CALLS][', ']'),
  parse(text) {
    const i = text.indexOf('[TOOL_CALLS]');
    if (i < 0) return null;
    const v = parseJson(text.slice(i + '[TOOL_CALLS]'.length).trim());
    const calls = (Array.isArray(v) ? v : [v]).map((c) => asCall(c, 'arguments')).filter((c) => c !== null);
    return calls.length > 0 ? calls : null;
  },
};

/** The tools `tool_choice` narrows to, or null when calls are not constrained. */
export function constrainedTools(
  tools: readonly ChatTool[] | undefined,
  choice: ToolChoice | undefined,
): ChatTool[] | null {
  if (!tools || tools.length === 0 || choice === undefined || choice === 'auto' || choice === 'none')
    return null;
  if (choice === 'required') return [...tools];
  const named = tools.filter((t) => t.function.name === choice.function.name);
  if (named.length === 0)
    throw new EdgeLMError(
      'INVALID_ARGUMENT',
      `tool_choice names "${choice.function.name}", which is not in tools`,
    );
  return named;
}
