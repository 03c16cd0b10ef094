import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, spawnServer, testServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof testServer>>;
type ErrorBody = { error: { message: string; type: string; code: string | null; param: string | null } };
let server: Server;

beforeAll(async () => {
  server = await testServer({ MAX_TOKENS: '16' });
});
afterAll(() => server.close(1_000));

/** Polls /healthz back to back until `until` settles; the slowest answer in ms. */
async function slowestHealthz(
  url: string,
  until: Promise<unknown>,
): Promise<{ slowestMs: number; probes: number }> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  let slowestMs = 0;
  let probes = 0;
  while (!settled || probes === 0) {
    const t0 = performance.now();
    const res = await fetch(`${url}/healthz`);
    await res.arrayBuffer();
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    probes++;
    expect(res.status).toBe(200);
  }
  return { slowestMs, probes };
}

describe('server: prompt size is capped before any work', () => {
  it('a 1 MiB prompt gets its 400 while /healthz keeps answering within 100 ms', async () => {
    // Its own process: the probe times the server's event loop, not this test's JSON work.
    const proc = await spawnServer();
    try {
      const sentence = 'Once upon a time, there was a little girl. ';
      const prompt = sentence.repeat(Math.ceil((1 << 20) / sentence.length));
      expect(prompt.length).toBeGreaterThanOrEqual(1 << 20);
      const body = Buffer.from(JSON.stringify({ prompt, max_tokens: 8 }));
      await slowestHealthz(proc.url, Promise.resolve()); // connection and code paths warm
      const refused = post(`${proc.url}/v1/completions`, body);
      const health = await slowestHealthz(proc.url, refused);
      const res = await refused;
      expect(res.status).toBe(400);
      const error = ((await res.json()) as ErrorBody).error;
      expect(error).toMatchObject({ code: 'context_length_exceeded', param: 'prompt' });
      expect(error.message).toMatch(/at most 8192/);
      expect(health.probes).toBeGreaterThan(0);
      expect(health.slowestMs).toBeLessThan(100);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  it('chat counts every message toward the cap; a token-id prompt over the context is refused by length', async () => {
    const big = 'x'.repeat(5000);
    const chat = await post(`${server.url}/v1/chat/completions`, {
      messages: [
        { role: 'system', content: big },
        { role: 'user', content: big },
      ],
    });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as ErrorBody).error).toMatchObject({
      code: 'context_length_exceeded',
      param: 'messages',
    });
    const ids = await post(`${server.url}/v1/completions`, { prompt: new Array(600).fill(1) });
    expect(ids.status).toBe(400);
    expect(((await ids.json()) as ErrorBody).error.code).toBe('context_length_exceeded');
  });
});

describe('server: fields it cannot honour are refused, not ignored', () => {
  const refused: [field: string, value: unknown, endpoint?: 'completions'][] = [
    ['logit_bias', { '50256': -100 }],
    ['functions', [{ name: 'f', parameters: {} }]],
    ['function_call', 'auto'],
    ['suffix', ' and they lived happily', 'completions'],
    ['logprobs', true],
    ['logprobs', 3, 'completions'],
    ['top_logprobs', 2],
    ['n', 2],
    ['best_of', 3, 'completions'],
    ['echo', true, 'completions'],
    ['presence_penalty', 0.5],
    ['frequency_penalty', 1],
    ['modalities', ['text', 'audio']],
    ['audio', { voice: 'alloy', format: 'wav' }],
    ['guided_json', { type: 'object' }],
  ];
  for (const [field, value, endpoint] of refused) {
    it(`${field}: ${JSON.stringify(value)} → 400 unsupported_parameter naming it`, async () => {
      const base =
        endpoint === 'completions'
          ? { path: '/v1/completions', body: { prompt: 'Once' } }
          : { path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'Once' }] } };
      const res = await post(`${server.url}${base.path}`, { ...base.body, max_tokens: 2, [field]: value });
      expect(res.status).toBe(400);
      const body = (await res.json()) as ErrorBody;
      expect(body.error).toMatchObject({
        code: 'unsupported_parameter',
        param: field,
        type: 'invalid_request_error',
      });
      expect(body.error.message).toContain(field);
    });
  }

  it('accepts metadata and the neutral values of the refused fields', async () => {
    const res = await post(`${server.url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'Once' }],
      max_tokens: 2,
      user: 'u-1',
      metadata: { trace: 'abc' },
      store: false,
      stream_options: { include_usage: true },
      n: 1,
      logit_bias: {},
      logprobs: false,
      presence_penalty: 0,
      frequency_penalty: 0,
      modalities: ['text'],
    });
    expect(res.status).toBe(200);
  });
});

describe('server: the HTTP surface answers like OpenAI', () => {
  it('a text/plain POST (what a page sends cross-origin without preflight) is 415 and runs nothing', async () => {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ prompt: 'Once', max_tokens: 2 }),
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorBody).error.code).toBe('unsupported_media_type');
    const none = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: new Uint8Array([123, 125]),
    });
    expect(none.status).toBe(415);
  });

  it('unknown routes are 404 unknown_url, wrong methods 405 with Allow', async () => {
    const unknown = await post(`${server.url}/v1/embeddings`, { input: 'x' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error).toMatchObject({
      code: 'unknown_url',
      type: 'invalid_request_error',
    });
    const wrong = await fetch(`${server.url}/v1/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(((await wrong.json()) as ErrorBody).error.code).toBe('method_not_allowed');
    const del = await fetch(`${server.url}/v1/models`, { method: 'DELETE' });
    expect(del.status).toBe(405);
  });

  it('GET /v1/models/{id} answers for the served model and 404 model_not_found otherwise', async () => {
    const ok = await fetch(`${server.url}/v1/models/stories260K.bin`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      id: 'stories260K.bin',
      object: 'model',
      created: 0,
      owned_by: 'edgelm',
    });
    const other = await fetch(`${server.url}/v1/models/meta-llama%2FLlama-3`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as ErrorBody).error.code).toBe('model_not_found');
  });
});
