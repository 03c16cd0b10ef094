import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createEngine, type Engine, type FallbackPolicy, isEdgeLMError } from '@edgelm/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, testServer } from './helpers.js';

const DIR = process.env.EDGELM_MODELS_DIR!;
/** The device's model: stories260K with its llama2.c header saying seq_len 64 instead of 512. */
const DEVICE_CONTEXT = 64;

async function deviceEngine(fallback: FallbackPolicy): Promise<Engine> {
  const bytes = new Uint8Array(await readFile(join(DIR, 'stories260K.bin')));
  // Header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len (int32 each).
  new DataView(bytes.buffer, bytes.byteOffset).setInt32(24, DEVICE_CONTEXT, true);
  return createEngine({
    model: bytes,
    tokenizer: new Uint8Array(await readFile(join(DIR, 'tok512.bin'))),
    backend: 'cpu',
    worker: false,
    responseCache: false,
    fallback,
  });
}

type Server = Awaited<ReturnType<typeof testServer>>;

/** Generation requests the server has answered so far, whatever their status. */
async function generationRequests(server: Server): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (/^edgelm_requests_total\{endpoint="\/v1\/(chat\/)?completions"/.test(line))
      n += Number(line.split(' ').pop());
  return n;
}

describe('SDK fallback to the edgelm server', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(() => server.close(1_000));

  it('a request over the local context is served remotely with the server greedy text', async () => {
    const engine = await deviceEngine({ url: server.url, privacy: 'allow-remote' });
    const before = await generationRequests(server);
    const stream = engine.generate('Once upon a time', { maxTokens: 80 });
    let streamed = '';
    for await (const c of stream) streamed += c.text;
    const r = await stream.result;
    expect(r.servedBy).toBe('remote');
    expect(r.routeReason).toMatch(/exceed the local context of 64/);
    expect(streamed).toBe(r.text);
    const serverLocal = await server.engine.generate('Once upon a time', { maxTokens: 80, cache: false })
      .result;
    expect(r.text).toBe(serverLocal.text);
    expect((await generationRequests(server)) - before).toBe(1);

    const small = await engine.generate('Once upon a time', { maxTokens: 8 }).result;
    expect(small.servedBy).toBe('local');
    expect(serverLocal.text.startsWith(small.text)).toBe(true);
    expect((await generationRequests(server)) - before).toBe(1);
    await engine.unload();
  });

  it("with 'local-only' the same request fails with CONTEXT_OVERFLOW and the server sees nothing", async () => {
    const engine = await deviceEngine({ url: server.url, privacy: 'local-only' });
    const before = await generationRequests(server);
    const err = await engine.generate('Once upon a time', { maxTokens: 80 }).result.catch((e) => e);
    expect(isEdgeLMError(err) && err.code).toBe('CONTEXT_OVERFLOW');
    const denied = await engine
      .generate('Once upon a time', { maxTokens: 8, route: 'remote' })
      .result.catch((e) => e);
    expect(isEdgeLMError(denied) && denied.code).toBe('POLICY_DENIED');
    expect(await generationRequests(server)).toBe(before);
    expect(metric(await (await fetch(`${server.url}/metrics`)).text(), 'edgelm_requests_in_flight')).toBe(0);
    await engine.unload();
  });

  it('server down at start: retries, then REMOTE_UNAVAILABLE, and local requests still work', async () => {
    const dead = await testServer();
    const url = dead.url;
    await dead.close(0);
    const engine = await deviceEngine({ url, privacy: 'allow-remote' });
    const t0 = performance.now();
    const err = await engine.generate('Once upon a time', { maxTokens: 80 }).result.catch((e) => e);
    expect(isEdgeLMError(err) && err.code).toBe('REMOTE_UNAVAILABLE');
    expect(err.details.attempts).toBeGreaterThan(1);
    expect(performance.now() - t0).toBeLessThan(60_000);
    expect((await engine.generate('Once upon a time', { maxTokens: 8 }).result).servedBy).toBe('local');
    await engine.unload();
  });

  it('server process killed mid-stream: typed error, no hang, engine still usable', async () => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      cwd: resolve(import.meta.dirname, '..'),
      env: { ...process.env, PORT: '0', EDGELM_BACKEND: 'cpu', EDGELM_MAX_BATCH: '1' },
    });
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /on (http:\/\/[^\s]+)/.exec(out);
          if (m) ok(m[1]);
        });
        child.once('exit', (code) => fail(new Error(`server exited early (${code}): ${out}`)));
      });
      const engine = await deviceEngine({ url, privacy: 'allow-remote' });
      const stream = engine.generate('Once upon a time', { maxTokens: 400, route: 'remote' });
      let n = 0;
      let error: unknown;
      try {
        for await (const _ of stream) if (++n === 5) child.kill('SIGKILL');
      } catch (e) {
        error = e;
      }
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThan(400);
      expect(isEdgeLMError(error) && ['REMOTE_UNAVAILABLE', 'REMOTE_PROTOCOL'].includes(error.code)).toBe(
        true,
      );
      await expect(stream.result).rejects.toMatchObject({ code: (error as { code: string }).code });
      const after = await engine.generate('Once upon a time', { maxTokens: 8 }).result;
      expect(after.servedBy).toBe('local');
      expect(after.text.length).toBeGreaterThan(0);
      await engine.unload();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
