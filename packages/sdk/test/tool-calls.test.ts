import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatTool } from '../src/api/types.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { ChatTemplate } from '../src/engine/chat-template.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import { toolCallFormat } from '../src/grammar/tool-calls.js';
import type { ModelFile } from '../src/model/model-file.js';
import { randomGrammarModel } from './grammar/random-model.js';
import { openStories260K } from './helpers/models.js';
import { qwen3Tokenizer, randomQwen3Model } from './helpers/qwen3.js';

const TOOLS: ChatTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['celsius', 'fahrenheit'] } },
        required: ['city', 'unit'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'add',
      parameters: {
        type: 'object',
        properties: { a: { type: 'integer' }, b: { type: 'integer' } },
        required: ['a', 'b'],
      },
    },
  },
];
const ajv = new Ajv2020({ strict: false });
const validators = new Map(TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters as object)]));
const ASK: ChatMessage[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

/** Asserts `c` is one call to a declared tool whose arguments validate; returns its name. */
function expectValidCall(c: ChatCompletion, allowed = TOOLS.map((t) => t.function.name)): string {
  const choice = c.choices[0]!;
  expect(choice.finish_reason).toBe('tool_calls');
  expect(choice.message.content).toBeNull();
  const call = choice.message.tool_calls![0]!;
  expect(allowed).toContain(call.function.name);
  const args = JSON.parse(call.function.arguments);
  const validate = validators.get(call.function.name)!;
  if (!validate(args)) throw new Error(`${call.function.arguments}: ${ajv.errorsText(validate.errors)}`);
  return call.function.name;
}

const tinyRandom = (): ModelFile => randomGrammarModel(11);

async function engineOf(model: ModelFile): Promise<LocalEngine> {
  return new LocalEngine(model, await createCpuBackend(model, { pageSize: 16, pageCount: 1024 }), {
    responseCache: false,
    maxBatch: 32,
  });
}

describe("Qwen3's chat template", () => {
  it('renders tools, an assistant call and the tool result', async () => {
    const { chatTemplate } = await qwen3Tokenizer();
    expect(toolCallFormat(chatTemplate).name).toBe('hermes');
    const t = new ChatTemplate(chatTemplate, { bos: '', eos: '<|im_end|>' });
    const messages: ChatMessage[] = [
      ...ASK,
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ];
    const text = t.render(messages, { tools: TOOLS });
    expect(text).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
    expect(text).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city":"Paris","unit":"celsius"}}\n</tool_call><|im_end|>',
    );
    expect(text).toContain('<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>');
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
  });
});

for (const [label, load] of [
  ['stories260K', openStories260K],
  ['a random-weight model', async () => tinyRandom()],
] as const) {
  describe(`tool_choice with ${label}`, () => {
    let engine: LocalEngine;
    beforeAll(async () => {
      engine = await engineOf(await load());
    });
    afterAll(() => engine.unload());

    it("'required' always yields a call to a declared function with valid arguments (100 sampled)", async () => {
      const runs = Array.from({ length: 100 }, (_, seed) =>
        engine.chat.completions.create({
          messages: ASK,
          tools: TOOLS,
          tool_choice: 'required',
          temperature: 1,
          seed,
          max_tokens: 64,
        }),
      );
      const names = new Set((await Promise.all(runs)).map((c) => expectValidCall(c)));
      expect(names.size).toBeGreaterThan(0);
    });

    it('a named tool_choice calls exactly that function', async () => {
      for (let seed = 0; seed < 10; seed++) {
        const c = await engine.chat.completions.create({
          messages: ASK,
          tools: TOOLS,
          tool_choice: { type: 'function', function: { name: 'add' } },
          temperature: 1,
          seed,
          max_tokens: 80,
        });
        expect(expectValidCall(c, ['add'])).toBe('add');
      }
    });
  });
}

describe('chat completions with the Qwen3 vocabulary (151k tokens)', () => {
  let engine: LocalEngine;
  beforeAll(async () => {
    engine = await engineOf(await randomQwen3Model());
  });
  afterAll(() => engine.unload());

  it("'required' calls parse, non-streaming and streaming", async () => {
    for (let seed = 0; seed < 3; seed++) {
      const req = {
        messages: ASK,
        tools: TOOLS,
        tool_choice: 'required' as const,
        temperature: 1,
        seed,
        max_tokens: 64,
      };
      expectValidCall(await engine.chat.completions.create(req));
      const chunks: ChatCompletionChunk[] = [];
      for await (const ch of await engine.chat.completions.create({ ...req, stream: true })) chunks.push(ch);
      const calls = chunks.flatMap((ch) => ch.choices[0]?.delta.tool_calls ?? []);
      expect(calls).toHaveLength(1);
      expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
      expect(chunks.some((ch) => ch.choices[0]?.delta.content)).toBe(false);
      const v = validators.get(calls[0]!.function.name!)!;
      expect(v(JSON.parse(calls[0]!.function.arguments!))).toBe(true);
    }
  });

  it('response_format json_schema and json_object constrain the content', async () => {
    const schema = { type: 'object', properties: { answer: { enum: ['yes', 'no'] } }, required: ['answer'] };
    for (let seed = 0; seed < 2; seed++) {
      const c = await engine.chat.completions.create({
        messages: ASK,
        response_format: { type: 'json_schema', json_schema: { name: 'verdict', schema, strict: true } },
        temperature: 1,
        seed,
        max_tokens: 32,
      });
      expect(ajv.validate(schema, JSON.parse(c.choices[0]!.message.content!))).toBe(true);
      const o = await engine.chat.completions.create({
        messages: ASK,
        response_format: { type: 'json_object' },
        temperature: 1,
        seed,
        max_tokens: 16,
      });
      expect(typeof JSON.parse(o.choices[0]!.message.content!)).toBe('object');
    }
  });
});
