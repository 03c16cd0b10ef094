import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Generation, Piece } from '../src/generation.js';
import { sseBody } from '../src/sse-body.js';
import { watchWrites } from '../src/write-watchdog.js';
import { metric, post, testServer } from './helpers.js';

describe('server: bounded queue', () => {
  it('past batch + MAX_QUEUE requests, the next gets 429 with Retry-After; capacity comes back', async () => {
    const server = await testServer({ EDGELM_MAX_BATCH: '1', MAX_QUEUE: '1' });
    try {
      // Not awaited: the CPU backend writes stories260K's 480 tokens in well under a second, so the
      // check below runs while the first generates and the second waits in the queue.
      const streams = [0, 1].map((i) => {
        const ac = new AbortController();
        const res = fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: `Once upon a time ${i}`, max_tokens: 480, stream: true }),
          signal: ac.signal,
        }).catch(() => undefined);
        return { ac, res };
      });
      await expect.poll(() => server.inFlight.size, { interval: 1 }).toBe(2);
      const over = await post(`${server.url}/v1/completions`, { prompt: 'Once', max_tokens: 2 });
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('1');
      expect(((await over.json()) as { error: { code: string; type: string } }).error).toMatchObject({
        code: 'rate_limit_exceeded',
        type: 'rate_limit_error',
      });
      for (const s of streams) s.ac.abort();
      await Promise.all(streams.map((s) => s.res));
      await expect.poll(() => server.inFlight.size).toBe(0);
      expect((await post(`${server.url}/v1/completions`, { prompt: 'Once', max_tokens: 2 })).status).toBe(
        200,
      );
    } finally {
      await server.close(1_000);
    }
  });
});

/** A generation that never ends on its own, counting how many pieces were taken from it. */
function endless(): { gen: Generation; taken: () => number } {
  let taken = 0;
  const gen: Generation = {
    summary: undefined,
    async *pieces(): AsyncGenerator<Piece, void, undefined> {
      for (;;) {
        taken++;
        yield { text: ' word', token: 7 };
      }
    },
  };
  return { gen, taken: () => taken };
}

describe('server: per-stream backpressure and write timeout', () => {
  it('a reader that reads nothing stops the stream from taking tokens past the high-water mark', async () => {
    const { gen, taken } = endless();
    const it = gen.pieces();
    let aborted: unknown;
    const body = sseBody({
      meta: { kind: 'completion', id: 'cmpl-1', created: 0, model: 'm' },
      includeUsage: false,
      gen,
      it,
      first: it.next(),
      keepAliveMs: 60_000,
      abort: (r) => {
        aborted = r;
      },
      draining: () => false,
      onPiece: () => {},
      onEnd: () => {},
      highWaterBytes: 4096,
    });
    await new Promise((r) => setTimeout(r, 100));
    const event = `data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 0, model: 'm', choices: [{ index: 0, text: ' word', logprobs: null, finish_reason: null, token_ids: [7] }] })}\n\n`;
    const held = taken();
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(Math.ceil(4096 / event.length) + 2);
    // Reading lets it go on: the bound is backpressure, not a stop.
    const reader = body.getReader();
    for (let i = 0; i < 200; i++) await reader.read();
    expect(taken()).toBeGreaterThan(held + 150);
    await reader.cancel();
    expect(aborted).toMatchObject({ code: 'ABORTED' });
  });

  it('watchWrites destroys a response whose socket stays full past the timeout, and only then', async () => {
    const full = Object.assign(new EventEmitter(), { writableNeedDrain: true, destroyed: false as unknown });
    const fullDestroy = (e?: Error) => {
      full.destroyed = e ?? true;
      full.emit('close');
    };
    watchWrites({ ...wrap(full), destroy: fullDestroy }, 80);
    const reading = Object.assign(new EventEmitter(), {
      writableNeedDrain: false,
      destroyed: false as unknown,
    });
    watchWrites(
      {
        ...wrap(reading),
        destroy: () => {
          reading.destroyed = true;
        },
      },
      80,
    );
    await new Promise((r) => setTimeout(r, 40));
    expect(full.destroyed).toBe(false);
    await expect.poll(() => full.destroyed, { timeout: 2_000 }).toBeInstanceOf(Error);
    expect(String(full.destroyed)).toMatch(/read nothing for 80 ms/);
    await new Promise((r) => setTimeout(r, 200));
    expect(reading.destroyed).toBe(false);
    reading.emit('close');
  });
});

function wrap(e: EventEmitter & { writableNeedDrain: boolean }) {
  return {
    get writableNeedDrain() {
      return e.writableNeedDrain;
    },
    once: (ev: 'close', l: () => void) => e.once(ev, l),
  };
}

describe('server: metrics and safe defaults', () => {
  it('exposes process and event-loop metrics, and generations by finish reason', async () => {
    const server = await testServer();
    try {
      await post(`${server.url}/v1/completions`, { prompt: 'Once', max_tokens: 3 }).then((r) => r.text());
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d/m);
      expect(
        metric(text, 'edgelm_generations_total{endpoint="/v1/completions",finish_reason="length"}'),
      ).toBe(1);
    } finally {
      await server.close(1_000);
    }
  });

  it('binds to loopback by default and refuses to listen elsewhere without a key', () => {
    const dir = { EDGELM_MODELS_DIR: '/models' };
    expect(loadConfig(dir).host).toBe('127.0.0.1');
    expect(loadConfig(dir).corsOrigins).toEqual([]);
    expect(() => loadConfig({ ...dir, HOST: '0.0.0.0' })).toThrow(/EDGELM_API_KEY/);
    expect(() => loadConfig({ ...dir, HOST: '192.168.1.4' })).toThrow(/EDGELM_API_KEY/);
    expect(loadConfig({ ...dir, HOST: '0.0.0.0', EDGELM_API_KEY: 'k' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...dir, HOST: '::1' }).host).toBe('::1');
    expect(loadConfig({ ...dir, HOST: 'localhost' }).host).toBe('localhost');
  });
});
