import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof testServer>>;
let server: Server;
let openai: OpenAI;

beforeAll(async () => {
  server = await testServer();
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => server.close(1_000));

const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 10 }, unit: { enum: ['celsius', 'fahrenheit'] } },
        required: ['city', 'unit'],
      },
    },
  },
];
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
const verdict = {
  type: 'object',
  properties: { answer: { enum: ['yes', 'no'] }, score: { type: 'integer', minimum: 0, maximum: 10 } },
  required: ['answer', 'score'],
  additionalProperties: false,
};

function expectWeatherArgs(json: string): void {
  const args = JSON.parse(json) as { city: unknown; unit: unknown };
  expect(typeof args.city).toBe('string');
  expect(['celsius', 'fahrenheit']).toContain(args.unit);
}

describe('structured output through the official openai client', () => {
  it("tool_choice 'required' returns tool_calls", async () => {
    const r = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages,
      tools,
      tool_choice: 'required',
      max_tokens: 128,
      temperature: 0.8,
      seed: 1,
    });
    const choice = r.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') return;
    expect(call.function.name).toBe('get_weather');
    expectWeatherArgs(call.function.arguments);
  });

  it('streams delta.tool_calls, and takes the tool result back', async () => {
    const stream = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 128,
      stream: true,
    });
    let args = '';
    let name = '';
    let id = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += d.function?.name ?? '';
        args += d.function?.arguments ?? '';
        id ||= d.id ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(name).toBe('get_weather');
    expectWeatherArgs(args);
    const next = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id, type: 'function', function: { name, arguments: args } }],
        },
        { role: 'tool', tool_call_id: id, content: '{"temp": 21}' },
      ],
      tools,
      max_tokens: 8,
    });
    expect(next.choices[0]!.message.role).toBe('assistant');
  });

  it('response_format json_schema, non-streaming and streaming', async () => {
    const response_format = {
      type: 'json_schema' as const,
      json_schema: { name: 'verdict', schema: verdict, strict: true },
    };
    const r = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages,
      response_format,
      max_tokens: 32,
      temperature: 1,
      seed: 3,
    });
    const value = JSON.parse(r.choices[0]!.message.content!) as { answer: string; score: number };
    expect(['yes', 'no']).toContain(value.answer);
    expect(value.score).toBeGreaterThanOrEqual(0);
    expect(value.score).toBeLessThanOrEqual(10);

    const stream = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages,
      response_format: { type: 'json_object' },
      max_tokens: 24,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(typeof JSON.parse(text)).toBe('object');
  });

  it('rejects a malformed tool with a 400', async () => {
    const e = await openai.chat.completions
      .create({ model: 'stories260K.bin', messages, tools: [{ type: 'function' } as never], max_tokens: 4 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('constrained text completions (llama.cpp server fields)', () => {
  it('honours a GBNF grammar and a json_schema', async () => {
    const g = await openai.completions.create({
      model: 'stories260K.bin',
      prompt: 'Once upon a time',
      max_tokens: 16,
      grammar: 'root ::= ("yes" | "no") "!"',
    } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(g.choices[0]!.text).toMatch(/^(yes|no)!$/);
    const j = await openai.completions.create({
      model: 'stories260K.bin',
      prompt: 'Once upon a time',
      max_tokens: 32,
      json_schema: verdict,
    } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(['yes', 'no']).toContain((JSON.parse(j.choices[0]!.text) as { answer: string }).answer);
  });
});
