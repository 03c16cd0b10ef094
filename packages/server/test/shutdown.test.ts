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

  it('ends streams still open at the deadline cleanly: finish_reason abort, then [DONE]', async () => {
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
    expect(rest).toMatch(/"finish_reason":"abort"/);
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
