import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, post, sseEvents, testServer } from './helpers.js';

/** Skipped only where the binary truly is not installed; CI installs `redis-server`. */
const hasRedis = !spawnSync('redis-server', ['--version']).error;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A throwaway redis-server on a random loopback port, without persistence. */
async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, proc };
}

type Server = Awaited<ReturnType<typeof testServer>>;

describe.skipIf(!hasRedis)('server: Redis response cache', () => {
  let redis: { url: string; proc: ChildProcess };
  let server: Server;

  beforeAll(async () => {
    redis = await startRedis();
    // A generous command timeout: on a loaded CI machine a healthy Redis may take over 100 ms.
    server = await testServer({ REDIS_URL: redis.url, CACHE_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await server?.close(1_000);
    redis?.proc.kill('SIGKILL');
  });

  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();

  it('answers a repeated deterministic request from Redis, streamed or not', async () => {
    const body = { prompt: 'Once upon a time there was', max_tokens: 16 };
    const first = await post(`${server.url}/v1/completions`, body);
    expect(first.headers.get('x-edgelm-cache')).toBe('miss');
    const firstText = ((await first.json()) as { choices: { text: string }[] }).choices[0].text;
    // The write to Redis is not awaited by the response; wait until it landed.
    await expect
      .poll(async () => (await post(`${server.url}/v1/completions`, body)).headers.get('x-edgelm-cache'))
      .toBe('hit');
    const before = await scrape();
    const second = await post(`${server.url}/v1/completions`, body);
    expect(second.headers.get('x-edgelm-cache')).toBe('hit');
    const json = (await second.json()) as { choices: { text: string }[]; edgelm: { cached: boolean } };
    expect(json.choices[0].text).toBe(firstText);
    expect(json.edgelm.cached).toBe(true);

    const streamed = await post(`${server.url}/v1/completions`, { ...body, stream: true });
    expect(streamed.headers.get('x-edgelm-cache')).toBe('hit');
    const events = (await sseEvents(streamed)).slice(0, -1) as { choices: { text: string }[] }[];
    expect(events.map((e) => e.choices[0]?.text ?? '').join('')).toBe(firstText);
    const after = await scrape();
    expect(
      metric(after, 'edgelm_response_cache_hits_total') - metric(before, 'edgelm_response_cache_hits_total'),
    ).toBe(2);
  });

  it('does not cache sampled requests without a seed, nor requests that opt out', async () => {
    const sampled = await post(`${server.url}/v1/completions`, {
      prompt: 'Once',
      max_tokens: 4,
      temperature: 0.8,
    });
    expect(sampled.headers.get('x-edgelm-cache')).toBe('off');
    const optOut = await post(`${server.url}/v1/completions`, {
      prompt: 'Once',
      max_tokens: 4,
      cache: false,
    });
    expect(optOut.headers.get('x-edgelm-cache')).toBe('off');
    const seeded = await post(`${server.url}/v1/completions`, {
      prompt: 'Once',
      max_tokens: 4,
      temperature: 0.8,
      seed: 7,
    });
    expect(seeded.headers.get('x-edgelm-cache')).toMatch(/hit|miss/);
  });

  it('keeps serving, uncached, when Redis goes away', async () => {
    redis.proc.kill('SIGKILL');
    await new Promise((r) => redis.proc.once('exit', r));
    const res = await post(`${server.url}/v1/completions`, {
      prompt: 'A new prompt after redis died',
      max_tokens: 6,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(6);
  });
});
