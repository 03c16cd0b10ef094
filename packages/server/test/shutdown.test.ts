import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { post, sseEvents, testServer } from './helpers.js';

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for (let r = await reader.read(); !r.done; r = await reader.read())
    text += decoder.decode(r.value, { stream: true });
  return text;
}

type Events = { choices: { finish_reason: string | null }[] }[];

describe('server: graceful shutdown', () => {
  it('lets an open stream finish within the grace period and refuses new work', async () => {
    const server = await testServer();
    const res = await post(`${server.url}/v1/completions`, {
      prompt: 'Once upon a time',
      max_tokens: 200,
      stream: true,
    });
    const reader = res.body!.getReader();
    const opening = new TextDecoder().decode((await reader.read()).value);
    expect(server.inFlight.size).toBe(1);
    const closing = server.close(60_000);
    const refused = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: '{}' }).then(
      (r) => r.status,
      () => 'connection refused',
    );
    expect([503, 'connection refused']).toContain(refused);
    const rest = opening + (await readAll(reader));
    expect(rest).toMatch(/"finish_reason":"length"/);
    expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await closing).toEqual({ finished: true, aborted: 0 });
  });

  it('ends streams still open at the deadline cleanly: an error event shutting_down, then [DONE]', async () => {
    const server = await testServer({ EDGELM_MAX_BATCH: '1' });
    // Long enough that it cannot finish within a 50 ms grace period on any machine.
    const res = await post(`${server.url}/v1/completions`, {
      prompt: 'Once upon a time',
      max_tokens: 480,
      stream: true,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const outcome = await server.close(50);
    const rest = await readAll(reader);
    expect(outcome.finished).toBe(false);
    expect(outcome.aborted).toBe(1);
    // A cut answer never ends like a complete one: no finish chunk, and no non-OpenAI reason.
    expect(rest).not.toMatch(/"finish_reason":"(abort|stop|length)"/);
    expect(rest).toMatch(/"code":"shutting_down"/);
    expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('under load: no 200 carries a cut answer, and requests arriving while draining get 503', async () => {
    const server = await testServer({ EDGELM_MAX_BATCH: '4' });
    const MAX = 480;
    const body = (i: number) => ({ prompt: `Once upon a time ${i}`, max_tokens: MAX });
    const streamed = await post(`${server.url}/v1/completions`, { ...body(99), stream: true });
    const reader = streamed.body!.getReader();
    await reader.read();
    const plain = Array.from({ length: 12 }, (_, i) =>
      post(`${server.url}/v1/completions`, body(i)).then(async (r) => ({
        status: r.status,
        json: (await r.json()) as {
          choices?: { finish_reason: string; text: string }[];
          usage?: { completion_tokens: number };
          error?: { code: string };
        },
      })),
    );
    await expect.poll(() => server.inFlight.size).toBe(13);
    const closing = server.close(100);
    const late = await post(`${server.url}/v1/completions`, body(100));
    expect(late.status).toBe(503);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);

    const results = await Promise.all(plain);
    const outcome = await closing;
    expect(outcome.finished).toBe(false);
    let cut = 0;
    for (const r of results) {
      if (r.status === 200) {
        const choice = r.json.choices![0]!;
        expect(['stop', 'length']).toContain(choice.finish_reason);
        if (choice.finish_reason === 'length') expect(r.json.usage?.completion_tokens).toBe(MAX);
      } else {
        cut++;
        expect(r.status).toBe(503);
        expect(r.json.error?.code).toBe('shutting_down');
      }
    }
    // The grace period was far too short for 12 × 480 tokens on 4 slots: some were cut, and said so.
    expect(cut).toBeGreaterThan(0);
    const rest = await readAll(reader);
    expect(rest).not.toMatch(/"finish_reason":"abort"/);
    expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('SIGTERM to the real process: the open stream completes, then the process exits 0', async () => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      cwd: resolve(import.meta.dirname, '..'),
      env: { ...process.env, PORT: '0', EDGELM_BACKEND: 'cpu', SHUTDOWN_GRACE_MS: '60000' },
    });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /on (http:\/\/[^\s]+)/.exec(out);
          if (m) resolveUrl(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
      });
      const res = await post(`${url}/v1/completions`, {
        prompt: 'Once upon a time',
        max_tokens: 100,
        stream: true,
      });
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const events = await sseEvents(res);
      expect(events.at(-1)).toBe('[DONE]');
      expect((events.slice(0, -1) as Events).at(-1)?.choices[0].finish_reason).toBe('length');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
