import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY_PREFIX, metric, post, sseEvents, testServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof testServer>>;
let server: Server;
const KEY = 'test-secret';
const auth = { authorization: `Bearer ${KEY}` };

beforeAll(async () => {
  server = await testServer({ EDGELM_API_KEY: KEY, MAX_BODY_BYTES: '4096', MAX_TOKENS: '64' });
});
afterAll(() => server.close(1_000));

describe('server: routes', () => {
  it('healthz is open; models lists the loaded model', async () => {
    const h = await fetch(`${server.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: 'ok', model: 'stories260K.bin' });
    const m = await fetch(`${server.url}/v1/models`, { headers: auth });
    expect(await m.json()).toEqual({
      object: 'list',
      data: [{ id: 'stories260K.bin', object: 'model', created: 0, owned_by: 'edgelm' }],
    });
  });

  it('non-streaming completion is the greedy continuation', async () => {
    const res = await post(
      `${server.url}/v1/completions`,
      { prompt: 'Once upon a time', max_tokens: 24 },
      auth,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      object: string;
      choices: { text: string; finish_reason: string }[];
      usage: object;
    };
    expect(body.object).toBe('text_completion');
    const local = await server.engine.generate('Once upon a time', { maxTokens: 24, cache: false }).result;
    expect(body.choices[0].text).toBe(local.text);
    expect(local.text.startsWith(GREEDY_PREFIX.slice(0, 40))).toBe(true);
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage).toMatchObject({ completion_tokens: 24 });
  });

  it('streaming completion: one event per token with token ids, finish, usage on request, [DONE]', async () => {
    const res = await post(
      `${server.url}/v1/completions`,
      { prompt: 'Once upon a time', max_tokens: 10, stream: true, stream_options: { include_usage: true } },
      auth,
    );
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await sseEvents(res);
    expect(events.at(-1)).toBe('[DONE]');
    const objects = events.slice(0, -1) as {
      choices: { text?: string; token_ids?: number[]; finish_reason: string | null }[];
      usage?: { completion_tokens: number };
    }[];
    const tokens = objects.filter((e) => e.choices[0]?.token_ids);
    expect(tokens).toHaveLength(10);
    const local = await server.engine.generate('Once upon a time', { maxTokens: 10, cache: false }).result;
    expect(tokens.map((e) => e.choices[0].text).join('')).toBe(local.text);
    expect(tokens.flatMap((e) => e.choices[0].token_ids)).toEqual(local.tokens);
    expect(objects.at(-2)?.choices[0].finish_reason).toBe('length');
    expect(objects.at(-1)?.usage?.completion_tokens).toBe(10);
  });

  it('a prompt of token ids gives the same completion as its text', async () => {
    const ids = await server.engine.tokenize('Once upon a time');
    const asText = await post(
      `${server.url}/v1/completions`,
      { prompt: 'Once upon a time', max_tokens: 12 },
      auth,
    );
    const asIds = await post(`${server.url}/v1/completions`, { prompt: ids, max_tokens: 12 }, auth);
    const text = (r: Response) =>
      r.json().then((b) => (b as { choices: { text: string }[] }).choices[0].text);
    expect(await text(asIds)).toBe(await text(asText));
  });

  it('streaming chat opens with the assistant role', async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      { messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4, stream: true },
      auth,
    );
    const events = (await sseEvents(res)).slice(0, -1) as { choices: { delta: { role?: string } }[] }[];
    expect(events[0].choices[0].delta.role).toBe('assistant');
  });
});

describe('server: auth and limits answer in OpenAI error shape', () => {
  const cases: {
    name: string;
    path: string;
    body: unknown;
    headers?: Record<string, string>;
    status: number;
    code: string;
    param: string | null;
  }[] = [
    {
      name: 'missing key',
      path: '/v1/completions',
      body: { prompt: 'a' },
      headers: {},
      status: 401,
      code: 'invalid_api_key',
      param: null,
    },
    {
      name: 'wrong key',
      path: '/v1/completions',
      body: { prompt: 'a' },
      headers: { authorization: 'Bearer nope' },
      status: 401,
      code: 'invalid_api_key',
      param: null,
    },
    {
      name: 'max_tokens over the limit',
      path: '/v1/completions',
      body: { prompt: 'a', max_tokens: 65 },
      status: 400,
      code: 'invalid_argument',
      param: 'max_tokens',
    },
    {
      name: 'max_completion_tokens over the limit',
      path: '/v1/chat/completions',
      body: { messages: [{ role: 'user', content: 'a' }], max_completion_tokens: 1000 },
      status: 400,
      code: 'invalid_argument',
      param: 'max_completion_tokens',
    },
    {
      name: 'body over the size limit',
      path: '/v1/completions',
      body: { prompt: 'a'.repeat(5000) },
      status: 413,
      code: 'limit_exceeded',
      param: 'body',
    },
    {
      name: 'invalid JSON',
      path: '/v1/completions',
      body: '{"prompt":',
      status: 400,
      code: 'invalid_argument',
      param: 'body',
    },
    {
      name: 'no messages',
      path: '/v1/chat/completions',
      body: { messages: [] },
      status: 400,
      code: 'invalid_argument',
      param: 'messages',
    },
    {
      name: 'bad role',
      path: '/v1/chat/completions',
      body: { messages: [{ role: 'function', content: 'x' }] },
      status: 400,
      code: 'invalid_argument',
      param: 'messages[0].role',
    },
    {
      name: 'n > 1',
      path: '/v1/completions',
      body: { prompt: 'a', n: 2 },
      status: 400,
      code: 'unsupported_parameter',
      param: 'n',
    },
    {
      name: 'temperature out of range',
      path: '/v1/completions',
      body: { prompt: 'a', temperature: 5 },
      status: 400,
      code: 'invalid_argument',
      param: 'temperature',
    },
    {
      name: 'unknown model',
      path: '/v1/completions',
      body: { prompt: 'a', model: 'gpt-9' },
      status: 404,
      code: 'model_not_found',
      param: 'model',
    },
    {
      name: 'prompt over the context',
      path: '/v1/completions',
      body: { prompt: 'Once upon a time '.repeat(200), max_tokens: 8 },
      status: 400,
      code: 'context_length_exceeded',
      param: null,
    },
    {
      name: 'prompt over the context, streaming',
      path: '/v1/completions',
      body: { prompt: 'Once upon a time '.repeat(200), max_tokens: 8, stream: true },
      status: 400,
      code: 'context_length_exceeded',
      param: null,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await post(`${server.url}${c.path}`, c.body, c.headers ?? auth);
      expect(res.status).toBe(c.status);
      const body = (await res.json()) as {
        error: { message: string; type: string; code: string; param: string | null };
      };
      expect(body.error).toMatchObject({ code: c.code, param: c.param });
      expect(typeof body.error.message).toBe('string');
      expect(typeof body.error.type).toBe('string');
    });
  }

  it('answers CORS preflights without the key when origins are configured; none by default', async () => {
    const preflight = (url: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://127.0.0.1:5173',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const closed = await preflight(server.url);
    expect(closed.headers.get('access-control-allow-origin')).toBeNull();
    const open = await testServer({ EDGELM_API_KEY: KEY, CORS_ORIGINS: 'http://127.0.0.1:5173' });
    try {
      const res = await preflight(open.url);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    } finally {
      await open.close(1_000);
    }
  });

  it('unknown routes are 404 in the same shape', async () => {
    const res = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', headers: auth });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('server: abort and metrics', () => {
  it('a client that disconnects mid-stream frees the engine, which keeps serving', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 64, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await expect.poll(() => server.inFlight.size).toBe(0);
    const again = await post(
      `${server.url}/v1/completions`,
      { prompt: 'Once upon a time', max_tokens: 8 },
      auth,
    );
    expect(again.status).toBe(200);
  });

  it('exposes request counts, TTFT and inter-token histograms, tokens, queue depth', async () => {
    const before = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    await post(
      `${server.url}/v1/completions`,
      { prompt: 'Once upon a time', max_tokens: 5, stream: true },
      auth,
    ).then((r) => r.text());
    const res = await fetch(`${server.url}/metrics`, { headers: auth });
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const after = await res.text();
    const diff = (line: string) => metric(after, line) - metric(before, line);
    expect(diff('edgelm_requests_total{endpoint="/v1/completions",status="200"}')).toBe(1);
    expect(diff('edgelm_time_to_first_token_seconds_count{endpoint="/v1/completions"}')).toBe(1);
    expect(diff('edgelm_inter_token_latency_seconds_count')).toBe(4);
    expect(diff('edgelm_tokens_total{kind="completion"}')).toBe(5);
    expect(diff('edgelm_tokens_total{kind="prompt"}')).toBe(5);
    expect(after).toMatch(/^edgelm_queue_depth 0$/m);
    expect(after).toMatch(/^edgelm_requests_in_flight 0$/m);
    expect(metric(after, 'edgelm_requests_total{endpoint="/*",status="401"}')).toBeGreaterThan(0);
  });

  it('metrics need the API key', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });
});
