import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof testServer>>;
const TOTAL = 10_000;
const CONCURRENCY = 48;

/** mulberry32: a seeded PRNG, so a failing run can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 16);
const rand = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function nested(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = rand() < 0.5 ? [v] : { k: v };
  return v;
}

const VALUES: (() => unknown)[] = [
  () => null,
  () => true,
  () => 0,
  () => -1,
  () => 1,
  () => 2,
  () => 1e308,
  () => Number.MAX_SAFE_INTEGER,
  () => 0.5,
  () => '',
  () => 'Once',
  () => '\u0000\ud800',
  () => 'x'.repeat(Math.floor(rand() * 200)),
  () => [],
  () => [1, 2, 3],
  () => ['a', 'b'],
  () => new Array(40).fill('s'),
  () => ({}),
  () => ({ include_usage: true }),
  () => ({ '50256': -100 }),
  () => [{ role: 'user', content: 'hi' }],
  () => [{ role: 'tool', content: 'hi' }],
  () => [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url' }] }],
  () => nested(Math.floor(rand() * 2000)),
];

const KEYS = [
  'prompt',
  'messages',
  'model',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'n',
  'logprobs',
  'logit_bias',
  'user',
  'metadata',
  'cache',
  'suffix',
  'tools',
  'response_format',
  'repetition_penalty',
  '__proto__',
  'constructor',
];

function baseBody(chat: boolean): Record<string, unknown> {
  return chat
    ? { messages: [{ role: 'user', content: pick(['Once', 'Lily', 'The dog']) }], max_tokens: 1 }
    : { prompt: pick(['Once upon', 'A cat', '']), max_tokens: 1 };
}

function mutate(body: Record<string, unknown>): Record<string, unknown> {
  const out = { ...body };
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const r = rand();
    const key = pick(KEYS);
    if (r < 0.2) delete out[pick(Object.keys(out).concat(key))];
    else out[key] = pick(VALUES)();
  }
  if (rand() < 0.3) out.stream = true;
  return out;
}

function mangle(text: string): string {
  const r = rand();
  if (r < 0.3) return text.slice(0, Math.floor(rand() * text.length));
  if (r < 0.6) {
    const at = Math.floor(rand() * text.length);
    return text.slice(0, at) + pick(['{', '}', '"', '\\', ',', ':', '\u0000', 'ÿ']) + text.slice(at + 1);
  }
  return Array.from({ length: Math.floor(rand() * 200) }, () =>
    String.fromCharCode(Math.floor(rand() * 256)),
  ).join('');
}

/** One random request: mostly mutated valid bodies, some broken JSON, odd methods, paths and headers. */
function randomRequest(base: string): { url: string; init: RequestInit } {
  const chat = rand() < 0.5;
  const path =
    rand() < 0.9
      ? chat
        ? '/v1/chat/completions'
        : '/v1/completions'
      : pick([
          '/',
          '/v1',
          '/v1/models/x',
          '/v1/models',
          '/healthz',
          '/metrics',
          '/v1/embeddings',
          '/%zz',
          '/v1/completions/../models',
        ]);
  const method = rand() < 0.92 ? 'POST' : pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
  let text = JSON.stringify(rand() < 0.1 ? pick(VALUES)() : mutate(baseBody(chat)));
  if (rand() < 0.15) text = mangle(text);
  const headers: Record<string, string> = {
    'content-type':
      rand() < 0.9
        ? 'application/json'
        : pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '']),
  };
  if (rand() < 0.05) headers.authorization = pick(['Bearer', 'Bearer x', 'Basic Zm9v', '']);
  if (rand() < 0.05) headers.origin = 'http://evil.example';
  return {
    url: base + path,
    init: { method, headers, body: method === 'GET' ? undefined : text },
  };
}

/** Raw bytes that are not HTTP at all, or broken HTTP: the server must shrug them off. */
function rawGarbage(port: number): Promise<void> {
  const payload = pick([
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    'POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\ncontent-type: application/json\r\n\r\nzz\r\n',
    'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\ncontent-type: application/json\r\n\r\n{"prompt":',
    '\u0000\u0001\u0002garbage\r\n\r\n',
    `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  ]);
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.end(payload);
    });
    s.setTimeout(500, () => s.destroy());
    s.on('data', () => {});
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

describe(`server fuzz: ${TOTAL} random and mutated requests (seed ${SEED})`, () => {
  let server: Server;
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    server = await testServer({ MAX_TOKENS: '1', MAX_BODY_BYTES: '65536', MAX_QUEUE: '512' });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await server.close(1_000);
  });

  it('leaves the server answering /healthz, with no unhandled rejection, no 500, and memory back near idle', async () => {
    const statuses = new Map<number | string, number>();
    const fire = async (count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < count) {
            const i = next++;
            if (i % 100 === 99) {
              await rawGarbage(server.port);
              statuses.set('raw', (statuses.get('raw') ?? 0) + 1);
              continue;
            }
            const { url, init } = randomRequest(server.url);
            const status = await fetch(url, init).then(
              async (r) => {
                await r.arrayBuffer();
                return r.status;
              },
              () => 'network error',
            );
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
    };
    await fire(300); // warm: JIT, pools, metric label sets
    const idle = await settledHeap();
    statuses.clear();
    const t0 = performance.now();
    await fire(TOTAL);
    const seconds = (performance.now() - t0) / 1000;
    const after = await settledHeap();
    console.log(
      `fuzz: ${TOTAL} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; heap idle ${(idle / 2 ** 20).toFixed(1)} MiB, after ${(after / 2 ** 20).toFixed(1)} MiB`,
    );

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(server.inFlight.size).toBe(0);
    expect(rejections).toEqual([]);
    expect(statuses.get(500) ?? 0).toBe(0);
    expect(statuses.get('network error') ?? 0).toBe(0);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(TOTAL / 20);
    // Near idle: what 10,000 requests leave behind is bounded, not proportional to them.
    expect(after - idle).toBeLessThan(32 * 2 ** 20);
    // Seconds on an idle two-core runner; minutes where many processes share the cores.
  }, 600_000);
});
