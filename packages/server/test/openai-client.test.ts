import { RemoteClient } from '@edgelm/sdk/remote';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY_PREFIX, testServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof testServer>>;
let server: Server;
let openai: OpenAI;
const KEY = 'sk-edgelm-test';

beforeAll(async () => {
  server = await testServer({ EDGELM_API_KEY: KEY });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(() => server.close(1_000));

/** What the engine itself answers, greedily, with no server in between. */
async function localGreedy(prompt: string, maxTokens: number): Promise<string> {
  return (await server.engine.generate(prompt, { maxTokens, cache: false }).result).text;
}

describe('the official openai client against the edgelm server', () => {
  it('lists the model', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['stories260K.bin']);
    expect((await openai.models.retrieve('stories260K.bin')).id).toBe('stories260K.bin');
    await expect(openai.models.retrieve('gpt-9')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses a field it cannot honour with a BadRequestError naming it', async () => {
    const err = await openai.chat.completions
      .create({
        model: 'stories260K.bin',
        messages: [{ role: 'user', content: 'Once' }],
        max_tokens: 2,
        logit_bias: { '1': 5 },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'logit_bias' });
  });

  it('streams a text completion equal to the local greedy output', async () => {
    const stream = await openai.completions.create({
      model: 'stories260K.bin',
      prompt: 'Once upon a time',
      max_tokens: 40,
      temperature: 0,
      stream: true,
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(await localGreedy('Once upon a time', 40));
    expect(text.startsWith(GREEDY_PREFIX)).toBe(true);
    expect(finish).toBe('length');
  });

  it('streams a chat completion equal to the local greedy output, with usage', async () => {
    const stream = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 30,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    const local = await server.engine.chat.completions.create({
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 30,
      cache: false,
    });
    expect(text).toBe(local.choices[0].message.content);
    expect(text.length).toBeGreaterThan(20);
    expect(usage?.completion_tokens).toBe(30);
  });

  it('non-streaming chat completion', async () => {
    const r = await openai.chat.completions.create({
      model: 'stories260K.bin',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 12,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0].message.role).toBe('assistant');
    expect(r.usage?.completion_tokens).toBe(12);
  });

  it('maps OpenAI errors to the client error classes', async () => {
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(
      openai.completions.create({ model: 'stories260K.bin', prompt: 'x', max_tokens: 1_000_000 }),
    ).rejects.toMatchObject({ status: 400, param: 'max_tokens' });
  });
});

describe('the SDK remote client against the edgelm server', () => {
  it('gets the greedy text, the token ids and servedBy remote', async () => {
    const remote = new RemoteClient({ url: server.url, apiKey: KEY });
    const stream = remote.generate('Once upon a time', { maxTokens: 20 });
    const chunks: number[] = [];
    for await (const c of stream) chunks.push(c.token);
    const r = await stream.result;
    const local = await server.engine.generate('Once upon a time', { maxTokens: 20, cache: false }).result;
    expect(r.text).toBe(local.text);
    expect(r.tokens).toEqual(local.tokens);
    expect(chunks).toEqual(local.tokens);
    expect(r).toMatchObject({ servedBy: 'remote', finishReason: 'length', usage: { completionTokens: 20 } });
  });
});
