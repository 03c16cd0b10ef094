import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { post, spawnServer, testServer } from './helpers.js';

/**
 * A Redis that accepts connections and never answers. With `handshake`, it answers ioredis'
 * INFO ready check first, so the client believes it is ready and its commands hang.
 */
async function stalledRedis(
  handshake: boolean,
): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let answered = !handshake;
    socket.on('data', (d) => {
      if (answered || !d.toString().toUpperCase().includes('INFO')) return;
      answered = true;
      const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
      socket.write(`$${info.length}\r\n${info}\r\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `redis://127.0.0.1:${port}`, server, sockets };
}

const fakes: Awaited<ReturnType<typeof stalledRedis>>[] = [];
afterAll(async () => {
  for (const f of fakes) {
    for (const s of f.sockets) s.destroy();
    await new Promise((r) => f.server.close(r));
  }
});

describe('server: a Redis that accepts and never answers', () => {
  for (const handshake of [true, false]) {
    it(`cacheable requests complete uncached within the timeout; /healthz says degraded (${handshake ? 'silent after the ready check' : 'silent from the start'})`, async () => {
      const fake = await stalledRedis(handshake);
      fakes.push(fake);
      const server = await testServer({ REDIS_URL: fake.url, CACHE_TIMEOUT_MS: '150' });
      try {
        const texts: string[] = [];
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          const res = await post(`${server.url}/v1/completions`, {
            prompt: 'Once upon a time',
            max_tokens: 4,
          });
          expect(res.status).toBe(200);
          expect(res.headers.get('x-edgelm-cache')).toBe('miss');
          texts.push(((await res.json()) as { choices: { text: string }[] }).choices[0]!.text);
          // Generation of 4 tokens plus at most one cache timeout; before the guard it never returned.
          expect(performance.now() - t0).toBeLessThan(5_000);
        }
        expect(new Set(texts).size).toBe(1);
        const health = await fetch(`${server.url}/healthz`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ status: 'degraded', cache: 'degraded' });
        // Streams are not held either.
        const streamed = await post(`${server.url}/v1/completions`, {
          prompt: 'Once upon a time',
          max_tokens: 4,
          stream: true,
        });
        expect((await streamed.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
        expect(server.inFlight.size).toBe(0);
      } finally {
        const t0 = performance.now();
        await server.close(1_000);
        expect(performance.now() - t0).toBeLessThan(3_000);
      }
    });
  }

  it('SIGTERM exits within the grace period while Redis hangs', async () => {
    const fake = await stalledRedis(true);
    fakes.push(fake);
    const proc = await spawnServer({ REDIS_URL: fake.url, SHUTDOWN_GRACE_MS: '2000' });
    try {
      const res = await post(`${proc.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 8 });
      expect(res.status).toBe(200);
      const pending = post(`${proc.url}/v1/completions`, { prompt: 'Once upon a', max_tokens: 8 }).then(
        (r) => r.status,
        () => 'closed',
      );
      const t0 = performance.now();
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(2_000 + 1_500);
      expect([200, 503, 'closed']).toContain(await pending);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});
