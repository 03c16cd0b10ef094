import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { loadConfig, type ServerConfig } from '../src/config.js';
import { type RunningServer, type StartOptions, startServer } from '../src/server.js';

/** A server on a free loopback port running the real engine on stories260K (CPU backend). */
export async function testServer(
  env: Record<string, string> = {},
  o: StartOptions = {},
): Promise<RunningServer & { config: ServerConfig }> {
  const config = loadConfig({
    EDGELM_MODELS_DIR: process.env.EDGELM_MODELS_DIR,
    PORT: '0',
    HOST: '127.0.0.1',
    EDGELM_BACKEND: 'cpu',
    ...env,
  });
  const server = await startServer(config, { log: () => {}, ...o });
  return Object.assign(server, { config });
}

/** The JSON payloads of an SSE body (comments dropped), `[DONE]` kept as a string. */
export async function sseEvents(res: Response): Promise<(Record<string, unknown> | '[DONE]')[]> {
  const text = await res.text();
  const out: (Record<string, unknown> | '[DONE]')[] = [];
  for (const block of text.split('\n\n')) {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    if (!data) continue;
    out.push(data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as Record<string, unknown>));
  }
  return out;
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
  });
}

/** The value of one sample line of a Prometheus text exposition (0 when absent). */
export function metric(exposition: string, line: string): number {
  for (const l of exposition.split('\n')) {
    if (l.startsWith(`${line} `)) return Number(l.slice(line.length + 1));
  }
  return 0;
}

export const GREEDY_PREFIX = ', there was a little girl named Lily. She loved to play outside in the park.';

/** The real server process (`src/main.ts`) on a free loopback port; resolves once it listens. */
export async function spawnServer(
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; exited: Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(import.meta.dirname, '..'),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', EDGELM_BACKEND: 'cpu', ...env },
  });
  let out = '';
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const url = await new Promise<string>((ok, fail) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /on (http:\/\/[^\s]+)/.exec(out);
      if (m) ok(m[1]!);
    });
    void exited.then((code) => fail(new Error(`server exited early (${code}): ${out}`)));
  });
  return { url, child, exited, output: () => out };
}
