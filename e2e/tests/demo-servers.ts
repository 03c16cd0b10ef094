import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultModelsDir } from '../server/test-server.js';

const DEMO_DIR = resolve(import.meta.dirname, '../../packages/demo');

export interface DemoServers {
  /** The built demo under `vite preview` (the PWA's service worker needs a production build). */
  demo: string;
  /** The reference server the demo's `/remote/` proxy reaches. */
  remote: string;
  /** Requests the reference server has answered, by its Prometheus counter. */
  remoteRequests(): Promise<number>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: string[]): ChildProcess {
  const child = spawn(cmd, args, { cwd: DEMO_DIR, env: { ...process.env, ...env }, stdio: 'pipe' });
  child.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  return child;
}

async function waitFor(url: string, child: ChildProcess, log: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited ${child.exitCode}\n${log.join('')}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up in ${timeoutMs} ms\n${log.join('')}`);
}

function exit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    child.once('exit', () => ok());
    child.kill('SIGTERM');
  });
}

/**
 * Builds the demo into a temporary folder and serves it with `vite preview`, beside the reference
 * server (packages/server with a stories260K widened to 2,048 positions), on free loopback ports.
 */
export async function startDemoServers(): Promise<DemoServers> {
  const modelsDir = defaultModelsDir();
  const [demoPort, remotePort] = [await freePort(), await freePort()];
  const outDir = await mkdtemp(join(tmpdir(), 'edgelm-demo-'));
  const log: string[] = [];
  const vite = join(DEMO_DIR, 'node_modules/.bin/vite');

  const remote = run(
    process.execPath,
    ['--import', 'tsx', 'scripts/remote-server.ts'],
    { PORT: String(remotePort), EDGELM_MODELS_DIR: modelsDir },
    log,
  );
  const build = run(vite, ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {}, log);
  const code = await new Promise<number | null>((ok) => build.once('exit', ok));
  if (code !== 0) {
    await exit(remote);
    throw new Error(`vite build failed (${code})\n${log.join('')}`);
  }
  const env = {
    PORT: String(demoPort),
    EDGELM_MODELS_DIR: modelsDir,
    EDGELM_REMOTE_URL: `http://127.0.0.1:${remotePort}`,
  };
  const preview = run(vite, ['preview', '--outDir', outDir, '--strictPort'], env, log);
  const demo = `http://127.0.0.1:${demoPort}`;
  const remoteUrl = `http://127.0.0.1:${remotePort}`;
  await Promise.all([
    waitFor(`${demo}/`, preview, log, 30_000),
    waitFor(`${remoteUrl}/healthz`, remote, log, 60_000),
  ]);
  return {
    demo,
    remote: remoteUrl,
    async remoteRequests() {
      const text = await (await fetch(`${remoteUrl}/metrics`)).text();
      let n = 0;
      for (const line of text.split('\n'))
        if (/^edgelm_requests_total\{endpoint="\/v1\/(chat\/)?completions"/.test(line))
          n += Number(line.split(' ').pop());
      return n;
    },
    async close() {
      await Promise.all([exit(preview), exit(remote)]);
      await rm(outDir, { recursive: true, force: true });
    },
  };
}
