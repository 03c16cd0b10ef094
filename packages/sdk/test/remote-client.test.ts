import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { GenerateChunk, GenerateStream } from '../src/api/types.js';
import { isEdgeLMError } from '../src/errors.js';
import { CircuitBreaker } from '../src/remote/circuit-breaker.js';
import { endpoint, RemoteClient, type RemoteClientOptions } from '../src/remote/client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

interface Scripted {
  url: string;
  requests: number;
  /** Requests whose connection the client closed before the response ended. */
  clientClosed: number;
  bodies: Record<string, unknown>[];
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A loopback HTTP server whose n-th request is answered by `handler`. */
async function scripted(handler: Handler): Promise<Scripted> {
  const state: Scripted = {
    url: '',
    requests: 0,
    clientClosed: 0,
    bodies: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = createServer((req, res) => {
    const n = state.requests++;
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      state.bodies.push(body ? (JSON.parse(body) as Record<string, unknown>) : {});
      res.on('close', () => {
        if (!res.writableEnded) state.clientClosed++;
      });
      handler(req, res, n);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

function chatEvent(
  content: string,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
): string {
  return `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }], ...extra })}\n\n`;
}

/** A complete, well-behaved chat stream of the given pieces. */
function okStream(res: ServerResponse, pieces: string[]): void {
  res.writeHead(200, SSE_HEADERS);
  res.write(
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] })}\n\n`,
  );
  for (const p of pieces) res.write(chatEvent(p));
  res.write(chatEvent('', 'stop'));
  res.write(
    `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: pieces.length, total_tokens: 5 + pieces.length } })}\n\n`,
  );
  res.end('data: [DONE]\n\n');
}

function client(url: string, o: Partial<RemoteClientOptions> = {}): RemoteClient {
  return new RemoteClient({
    url,
    connectTimeoutMs: 2_000,
    idleTimeoutMs: 2_000,
    retry: { baseDelayMs: 20, maxDelayMs: 100 },
    ...o,
  });
}

const ask = { messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 8 };

async function collect(stream: GenerateStream): Promise<{ chunks: GenerateChunk[]; error?: unknown }> {
  const chunks: GenerateChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks };
}

describe('RemoteClient: streaming', () => {
  it('streams chat deltas into GenerateChunks and a remote GenerateResult', async () => {
    const s = await scripted((_req, res) => okStream(res, ['Once', ' upon', ' a', ' time']));
    const stream = client(`${s.url}/v1/`, { apiKey: 'k', model: 'm' }).chat(ask, { routeReason: 'test' });
    const { chunks, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(chunks.map((c) => c.text).join('')).toBe('Once upon a time');
    const r = await stream.result;
    expect(r).toMatchObject({
      text: 'Once upon a time',
      finishReason: 'stop',
      servedBy: 'remote',
      routeReason: 'test',
      usage: { promptTokens: 5, completionTokens: 4, totalTokens: 9 },
    });
    expect(s.bodies[0]).toMatchObject({ model: 'm', stream: true, temperature: 0, max_tokens: 8 });
  });

  it('survives events split byte by byte with \\r\\n, keep-alive comments and token ids', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      const wire =
        ': ping\r\n\r\n' +
        `data: ${JSON.stringify({ choices: [{ text: 'héllo', token_ids: [7], finish_reason: null }] })}\r\n\r\n` +
        `data: ${JSON.stringify({ choices: [{ text: ' 日本', token_ids: [8, 9], finish_reason: 'length' }] })}\r\n\r\n` +
        'data: [DONE]\r\n\r\n';
      const bytes = Buffer.from(wire);
      let i = 0;
      const tick = setInterval(() => {
        if (i < bytes.length) res.write(bytes.subarray(i, ++i));
        else {
          clearInterval(tick);
          res.end();
        }
      }, 0);
    });
    const stream = client(s.url).generate('hi', { maxTokens: 3 });
    const { chunks } = await collect(stream);
    expect(chunks).toEqual([
      { text: 'héllo', token: 7 },
      { text: '', token: 8 },
      { text: ' 日本', token: 9 },
    ]);
    const r = await stream.result;
    expect(r.tokens).toEqual([7, 8, 9]);
    expect(r.finishReason).toBe('length');
    expect(s.bodies[0]).toMatchObject({ prompt: 'hi', max_tokens: 3 });
  });

  it('reports a 4xx with the server message and does not retry it', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: 'max_tokens too large',
            type: 'invalid_request_error',
            code: 'context_length_exceeded',
            param: 'max_tokens',
          },
        }),
      );
    });
    const err = await client(s.url)
      .chat(ask)
      .result.catch((e) => e);
    expect(err).toMatchObject({
      code: 'REMOTE_HTTP',
      details: {
        status: 400,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
        param: 'max_tokens',
      },
    });
    expect(err.message).toMatch(/max_tokens too large/);
    expect(s.requests).toBe(1);
  });

  it('rejects a body that is not an event stream with REMOTE_PROTOCOL', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await expect(client(s.url).chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_PROTOCOL' });
  });

  it('turns an error event inside the stream into REMOTE_HTTP', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      res.write(chatEvent('a'));
      res.end(
        `data: ${JSON.stringify({ error: { message: 'draining', type: 'server_error', code: 'shutting_down', param: null } })}\n\n`,
      );
    });
    await expect(client(s.url).chat(ask).result).rejects.toMatchObject({
      code: 'REMOTE_HTTP',
      details: { type: 'server_error', code: 'shutting_down' },
    });
    expect(s.requests).toBe(1);
  });
});

describe('RemoteClient: retries', () => {
  it('retries 503 and 502 (the server did no work), then succeeds', async () => {
    const s = await scripted((_req, res, n) => {
      if (n < 2) {
        res.writeHead(n === 0 ? 503 : 502);
        res.end('busy');
      } else okStream(res, ['ok']);
    });
    const r = await client(s.url).chat(ask).result;
    expect(r.text).toBe('ok');
    expect(s.requests).toBe(3);
  });

  it('honours Retry-After on 429', async () => {
    const s = await scripted((_req, res, n) => {
      if (n === 0) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'slow down' } }));
      } else okStream(res, ['ok']);
    });
    const t0 = performance.now();
    const r = await client(s.url, { retry: { baseDelayMs: 1, maxDelayMs: 1 } }).chat(ask).result;
    expect(r.text).toBe('ok');
    // The backoff alone would have waited ≤1 ms; the second request waited for Retry-After.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
    expect(s.requests).toBe(2);
  });

  it('fails with RATE_LIMITED when Retry-After exceeds what the client will wait', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(429, { 'retry-after': '3600' });
      res.end();
    });
    const err = await client(s.url)
      .chat(ask)
      .result.catch((e) => e);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: 3_600_000, attempts: 1 } });
    expect(s.requests).toBe(1);
  });

  it('never retries once tokens were streamed', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      res.write(chatEvent('partial'));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const stream = client(s.url).chat(ask);
    const { chunks, error } = await collect(stream);
    expect(chunks.map((c) => c.text)).toEqual(['partial']);
    expect(isEdgeLMError(error) && error.code).toBe('REMOTE_UNAVAILABLE');
    expect(s.requests).toBe(1);
  });

  it('never retries once the server accepted the request, even before the first token', async () => {
    const s = await scripted((_req, res, n) => {
      if (n === 0) {
        res.writeHead(200, SSE_HEADERS);
        res.write(': starting\n\n');
        setTimeout(() => res.socket?.destroy(), 20);
      } else okStream(res, ['second']);
    });
    const err = await client(s.url)
      .chat(ask)
      .result.catch((e) => e);
    expect(err).toMatchObject({ code: 'REMOTE_UNAVAILABLE', details: { attempts: 1 } });
    expect(s.requests).toBe(1);
  });

  it('does not resend work after a 500 or a 504 (the server may have done it)', async () => {
    for (const status of [500, 504]) {
      const s = await scripted((_req, res, n) => {
        if (n === 0) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { message: 'upstream timed out', type: 'server_error', code: 'timeout' },
            }),
          );
        } else okStream(res, ['again']);
      });
      const err = await client(s.url)
        .chat(ask)
        .result.catch((e) => e);
      expect(err).toMatchObject({ code: 'REMOTE_HTTP', details: { status, code: 'timeout', attempts: 1 } });
      expect(s.requests).toBe(1);
    }
  });

  it('server down at start: retries, then REMOTE_UNAVAILABLE within the deadline', async () => {
    const s = await scripted(() => {});
    const url = s.url;
    await s.close();
    const t0 = performance.now();
    const err = await client(url, {
      retry: { maxRetries: 50, baseDelayMs: 50, maxDelayMs: 200 },
      deadlineMs: 1_000,
    })
      .chat(ask)
      .result.catch((e) => e);
    const elapsed = performance.now() - t0;
    expect(err).toMatchObject({ code: 'REMOTE_UNAVAILABLE' });
    expect(err.details.attempts).toBeGreaterThan(2);
    expect(elapsed).toBeLessThan(1_000 + 500);
  });

  it('server down at start: stops after maxRetries', async () => {
    const s = await scripted(() => {});
    const url = s.url;
    await s.close();
    const err = await client(url, { retry: { maxRetries: 2, baseDelayMs: 10 } })
      .chat(ask)
      .result.catch((e) => e);
    expect(err).toMatchObject({ code: 'REMOTE_UNAVAILABLE', details: { attempts: 3 } });
  });
});

describe('RemoteClient: timeouts and abort', () => {
  it('connect timeout: TIMEOUT and no retry, since the server may be working on it', async () => {
    const s = await scripted(() => {});
    const err = await client(s.url, { connectTimeoutMs: 100, retry: { maxRetries: 3, baseDelayMs: 10 } })
      .chat(ask)
      .result.catch((e) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', details: { phase: 'connect', attempts: 1 } });
    expect(s.requests).toBe(1);
  });

  it('idle timeout after tokens: TIMEOUT, no retry, connection closed', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      res.write(chatEvent('a'));
    });
    const { chunks, error } = await collect(client(s.url, { idleTimeoutMs: 150 }).chat(ask));
    expect(chunks).toHaveLength(1);
    expect(error).toMatchObject({ code: 'TIMEOUT', details: { phase: 'idle' } });
    await expect.poll(() => s.clientClosed).toBe(1);
    expect(s.requests).toBe(1);
  });

  it('keep-alive comments keep a slow stream alive past the idle timeout', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      let n = 0;
      const tick = setInterval(() => {
        res.write(': keep-alive\n\n');
        if (++n === 8) {
          clearInterval(tick);
          okStreamTail(res, 'late');
        }
      }, 50);
    });
    const r = await client(s.url, { idleTimeoutMs: 150 }).chat(ask).result;
    expect(r.text).toBe('late');
  });

  it('abort mid-stream closes the HTTP stream and finishes with finishReason abort', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      const tick = setInterval(() => res.write(chatEvent('x')), 10);
      res.on('close', () => clearInterval(tick));
    });
    const ac = new AbortController();
    const stream = client(s.url).chat({ ...ask, signal: ac.signal });
    let n = 0;
    for await (const _ of stream) if (++n === 3) ac.abort();
    const r = await stream.result;
    expect(r.finishReason).toBe('abort');
    expect(r.text.length).toBeGreaterThanOrEqual(3);
    await expect.poll(() => s.clientClosed).toBe(1);
  });

  it('abort during the retry wait ends at once without another request', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(503, { 'retry-after': '30' });
      res.end();
    });
    const ac = new AbortController();
    const stream = client(s.url).chat({ ...ask, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const r = await stream.result;
    expect(r.finishReason).toBe('abort');
    expect(s.requests).toBe(1);
  });

  it('server process killed mid-stream: typed error, no hang', async () => {
    const child = spawn(process.execPath, [
      '-e',
      `const s = require('node:http').createServer((q, r) => {
         r.writeHead(200, { 'content-type': 'text/event-stream' });
         setInterval(() => r.write('data: ' + JSON.stringify({ choices: [{ delta: { content: 't' }, finish_reason: null }] }) + '\\n\\n'), 10);
       });
       s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ]);
    try {
      const port = await new Promise<string>((resolve) =>
        child.stdout.once('data', (d) => resolve(String(d).trim())),
      );
      const stream = client(`http://127.0.0.1:${port}`).chat(ask);
      let n = 0;
      let error: unknown;
      try {
        for await (const _ of stream) if (++n === 3) child.kill('SIGKILL');
      } catch (e) {
        error = e;
      }
      expect(n).toBeGreaterThanOrEqual(3);
      expect(isEdgeLMError(error)).toBe(true);
      expect(['REMOTE_UNAVAILABLE', 'REMOTE_PROTOCOL']).toContain((error as { code: string }).code);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('RemoteClient: circuit breaker', () => {
  it('opens after N failed requests, sends nothing while open, probes after the cool-down', async () => {
    let healthy = false;
    const s = await scripted((_req, res) => {
      if (healthy) okStream(res, ['back']);
      else {
        res.writeHead(500);
        res.end();
      }
    });
    const c = client(s.url, {
      retry: { maxRetries: 0 },
      circuitBreaker: { failureThreshold: 2, cooldownMs: 300 },
    });
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_HTTP' });
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_HTTP' });
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(s.requests).toBe(2);
    expect(c.breaker.state).toBe('open');
    await new Promise((r) => setTimeout(r, 320));
    healthy = true;
    expect((await c.chat(ask).result).text).toBe('back');
    expect(c.breaker.state).toBe('closed');
    expect(s.requests).toBe(3);
  });

  it('counts requests, not attempts: one request retried 3 times is one failure', async () => {
    const s = await scripted((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const c = client(s.url, {
      retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2 },
      circuitBreaker: { failureThreshold: 2, cooldownMs: 60_000 },
    });
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_HTTP', details: { attempts: 4 } });
    expect(s.requests).toBe(4);
    expect(c.breaker.state).toBe('closed');
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_HTTP' });
    expect(c.breaker.state).toBe('open');
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(s.requests).toBe(8);
  });

  it('a failed half-open probe reopens; a later probe recovers once the server is back', async () => {
    let healthy = false;
    const s = await scripted((_req, res) => {
      if (healthy) okStream(res, ['up']);
      else {
        res.writeHead(503);
        res.end();
      }
    });
    const c = client(s.url, {
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 },
      circuitBreaker: { failureThreshold: 1, cooldownMs: 150 },
    });
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_HTTP' });
    expect(c.breaker.state).toBe('open');
    await new Promise((r) => setTimeout(r, 170));
    expect(c.breaker.state).toBe('half-open');
    const before = s.requests;
    // The probe is one attempt: it does not retry into a server that just failed.
    await expect(c.chat(ask).result).rejects.toMatchObject({ code: 'REMOTE_HTTP', details: { attempts: 1 } });
    expect(s.requests).toBe(before + 1);
    expect(c.breaker.state).toBe('open');
    healthy = true;
    await new Promise((r) => setTimeout(r, 170));
    expect((await c.chat(ask).result).text).toBe('up');
    expect(c.breaker.state).toBe('closed');
    expect((await c.chat(ask).result).text).toBe('up');
  });

  it('a probe whose outcome never comes back does not hold the circuit open forever', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100 }, () => now);
    b.failure(b.acquire());
    now = 100;
    expect(b.acquire()).toBe(true); // the probe, lost by its caller
    expect(() => b.acquire()).toThrow(/failed repeatedly/);
    now = 200;
    const probe = b.acquire();
    expect(probe).toBe(true);
    b.success(probe);
    expect(b.state).toBe('closed');
  });
});

describe('endpoint', () => {
  it('accepts base URLs with or without /v1', () => {
    expect(endpoint('http://h:1', '/completions')).toBe('http://h:1/v1/completions');
    expect(endpoint('http://h:1/v1/', '/chat/completions')).toBe('http://h:1/v1/chat/completions');
    expect(endpoint('http://h:1/proxy/v1', '/completions')).toBe('http://h:1/proxy/v1/completions');
  });
});

function okStreamTail(res: ServerResponse, text: string): void {
  res.write(chatEvent(text));
  res.write(chatEvent('', 'stop'));
  res.end('data: [DONE]\n\n');
}
