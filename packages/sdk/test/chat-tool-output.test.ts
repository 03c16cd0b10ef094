import { describe, expect, it } from 'vitest';
import type { GenerateChunk, GenerateResult, GenerateStream } from '../src/api/types.js';
import { AsyncQueue } from '../src/engine/async-queue.js';
import { chatToGenerateOptions, toChatChunks, toChatCompletion } from '../src/engine/openai.js';
import { toolCallFormat } from '../src/grammar/tool-calls.js';

/** A finished stream that yields `pieces`, as the scheduler would. */
function streamOf(pieces: string[]): GenerateStream {
  const q = new AsyncQueue<GenerateChunk>();
  for (const text of pieces) q.push({ text, token: 0 });
  q.close();
  const result: GenerateResult = {
    text: pieces.join(''),
    tokens: pieces.map(() => 0),
    finishReason: 'stop',
    usage: { promptTokens: 1, completionTokens: pieces.length, totalTokens: 1 + pieces.length },
    timings: { ttftMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0, totalMs: 0 },
    prefixTokensReused: 0,
    cached: false,
    servedBy: 'local',
    routeReason: '',
  };
  return Object.assign(q, { result: Promise.resolve(result) });
}

const hermes = { tools: toolCallFormat('{{ "<tool_call>" }}') };

describe("tool_choice 'auto': calls are read from the template's syntax", () => {
  it('a Hermes call becomes tool_calls, whole and streamed', async () => {
    const pieces = ['<tool', '_call>\n{"name": "add", ', '"arguments": {"a": 1, "b": 2}}\n</tool_call>'];
    const c = await toChatCompletion(streamOf(pieces), 'chatcmpl-7', 'm', hermes);
    expect(c.choices[0]!.finish_reason).toBe('tool_calls');
    expect(c.choices[0]!.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_7_0', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":2}' } },
      ],
    });
    const chunks = [];
    for await (const ch of toChatChunks(streamOf(pieces), 'chatcmpl-7', 'm', hermes)) chunks.push(ch);
    expect(chunks.some((ch) => ch.choices[0]?.delta.content)).toBe(false);
    expect(chunks.at(-2)!.choices[0]!.delta.tool_calls![0]!.function.name).toBe('add');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('plain answers stream as content', async () => {
    const chunks = [];
    for await (const ch of toChatChunks(streamOf(['<t', 'able> is ', 'a word']), 'id', 'm', hermes))
      chunks.push(ch);
    expect(chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join('')).toBe('<table> is a word');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('Llama 3.1 and Mistral syntaxes parse', () => {
    const llama = toolCallFormat('{{ "<|python_tag|>" }}');
    expect(llama.parse('{"name": "f", "parameters": {"x": 1}}')).toEqual([
      { name: 'f', arguments: { x: 1 } },
    ]);
    const mistral = toolCallFormat('[TOOL_CALLS]');
    expect(mistral.parse('[TOOL_CALLS][{"name": "g", "arguments": {}}]')).toEqual([
      { name: 'g', arguments: {} },
    ]);
  });

  it('response_format maps onto grammars; a forced tool and a JSON format exclude each other', () => {
    expect(chatToGenerateOptions({ messages: [], response_format: { type: 'json_object' } }).grammar).toEqual(
      {
        type: 'json',
      },
    );
    const schema = { type: 'object' };
    expect(
      chatToGenerateOptions({
        messages: [],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
      }).jsonSchema,
    ).toBe(schema);
    expect(() =>
      chatToGenerateOptions(
        {
          messages: [],
          response_format: { type: 'json_object' },
          tools: [{ type: 'function', function: { name: 'f' } }],
          tool_choice: 'required',
        },
        hermes.tools,
      ),
    ).toThrow(/exclude/);
  });
});
