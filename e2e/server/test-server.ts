import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize, resolve } from 'node:path';
import { syntheticBytes } from './synthetic.js';

/** Requests seen for one path, as the control API reports them. */
export interface PathStats {
  requests: number;
  /** The Range header of each request, in order ('' for none). */
  ranges: string[];
  /** Body bytes actually written. */
  bytes: number;
  /** Connections dropped on purpose. */
  cuts: number;
}

/** Drop the connection once `afterBytes` body bytes of `path` have been sent in total. */
export interface Fault {
  path: string;
  afterBytes: number;
  /** Keep refusing the path after the cut, as if the network were gone (default true). */
  sticky?: boolean;
}

export interface TestServerOptions {
  port?: number;
  modelsDir?: string;
  /** Served path → contents (the harness bundle). */
  files?: Map<string, Uint8Array>;
}

export interface TestServer {
  url: string;
  stats: Map<string, PathStats>;
  faults: Map<string, Fault & { sent: number; cut: boolean }>;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript',
  '.html': 'text/html',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript',
};

const sdkRequire = createRequire(resolve(import.meta.dirname, '../../packages/sdk/package.json'));
/**
 * Runtime files that pages load by URL rather than import (wasm binaries and their glue), served
 * from the installed packages so no page ever reaches for a CDN: `/vendor/<name>/<file>`.
 */
const VENDOR_DIRS: Record<string, () => string> = {
  'onnxruntime-web': () => dirname(sdkRequire.resolve('onnxruntime-web')),
  wllama: () => join(dirname(sdkRequire.resolve('@wllama/wllama')), 'wasm'),
};

/**
 * The local server of the e2e specs (and the cache benchmark), on loopback only:
 * - `/models/<file>` from the models directory, `/synthetic/<name>?size=N&v=V` generated files,
 *   both with Range support, an ETag, and counting per path;
 * - `/harness/<name>.html|.js` the harness pages;
 * - `/__control/stats` (GET), `/__control/reset` (POST), `/__control/fault` (POST a {@link Fault}).
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const modelsDir = resolve(options.modelsDir ?? defaultModelsDir());
  const files = options.files ?? new Map<string, Uint8Array>();
  const stats = new Map<string, PathStats>();
  const faults: TestServer['faults'] = new Map();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Cross-origin isolation, so pages may use SharedArrayBuffer and threaded wasm.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Accept-Ranges');
    res.setHeader('Cache-Control', 'no-store');
    if (url.pathname.startsWith('/__control/')) return control(url.pathname, req, res);
    if (url.pathname.startsWith('/harness/')) return serveHarness(url.pathname, res);
    if (url.pathname.startsWith('/vendor/')) return serveVendor(url.pathname, res);
    if (url.pathname.startsWith('/models/')) {
      const file = normalize(join(modelsDir, decodeURIComponent(url.pathname.slice('/models/'.length))));
      if (!file.startsWith(modelsDir)) return notFound(res);
      let size: number;
      let mtime: number;
      try {
        const st = statSync(file);
        if (!st.isFile()) return notFound(res);
        size = st.size;
        mtime = st.mtimeMs;
      } catch {
        return notFound(res);
      }
      const etag = `"${size.toString(16)}-${Math.floor(mtime).toString(16)}"`;
      return sendRange(req, res, url.pathname, size, etag, (start, end) =>
        createReadStream(file, { start, end: end - 1 }),
      );
    }
    if (url.pathname.startsWith('/synthetic/')) {
      const name = url.pathname.slice('/synthetic/'.length);
      const size = Number(url.searchParams.get('size') ?? 1024);
      const version = url.searchParams.get('v') ?? '1';
      if (!Number.isSafeInteger(size) || size < 0) return notFound(res);
      const etag = `"${name}-${size}-${version}"`;
      return sendRange(req, res, url.pathname, size, etag, (start, end) =>
        syntheticPieces(name, size, version, start, end),
      );
    }
    if (url.pathname === '/' || url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    notFound(res);
  });

  function serveHarness(path: string, res: ServerResponse): void {
    const body = files.get(path);
    if (body) {
      const ext = path.slice(path.lastIndexOf('.'));
      res.writeHead(200, { 'Content-Type': MIME[ext] ?? 'application/octet-stream' });
      return void res.end(body);
    }
    // Every bundled entry gets a page: /harness/cache.html loads /harness/cache.js.
    const page = /^\/harness\/([\w-]+)\.html$/.exec(path);
    if (page && files.has(`/harness/${page[1]}.js`)) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return void res.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>${page[1]}</title></head>` +
          `<body><script type="module" src="/harness/${page[1]}.js"></script></body></html>`,
      );
    }
    notFound(res);
  }

  function serveVendor(path: string, res: ServerResponse): void {
    const m = /^\/vendor\/([\w-]+)\/([\w.-]+)$/.exec(path);
    const dir = m && Object.hasOwn(VENDOR_DIRS, m[1]) ? VENDOR_DIRS[m[1]]() : undefined;
    const file = m && dir ? join(dir, m[2]) : '';
    let found = false;
    try {
      found = file !== '' && statSync(file).isFile();
    } catch {}
    if (!found) {
      notFound(res);
      return;
    }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, { 'Content-Type': MIME[ext] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  }

  function statsFor(path: string): PathStats {
    let s = stats.get(path);
    if (!s) {
      s = { requests: 0, ranges: [], bytes: 0, cuts: 0 };
      stats.set(path, s);
    }
    return s;
  }

  function sendRange(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    size: number,
    etag: string,
    body: (start: number, end: number) => AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): void {
    const s = statsFor(path);
    s.requests++;
    const rangeHeader = req.headers.range ?? '';
    s.ranges.push(rangeHeader);
    const fault = faults.get(path);
    if (fault?.cut && fault.sticky !== false) {
      s.cuts++;
      return void req.socket.destroy();
    }
    let start = 0;
    let end = size;
    let status = 200;
    if (rangeHeader) {
      const r = parseRange(rangeHeader, size);
      if (!r) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` });
        return void res.end();
      }
      [start, end] = r;
      status = 206;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': end - start,
      'Accept-Ranges': 'bytes',
      ETag: etag,
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    void (async () => {
      for await (const piece of body(start, end)) {
        let chunk = piece;
        if (fault && !fault.cut && fault.sent + chunk.byteLength > fault.afterBytes) {
          chunk = chunk.subarray(0, Math.max(0, fault.afterBytes - fault.sent));
          fault.cut = true;
          s.cuts++;
          s.bytes += chunk.byteLength;
          // Flush what fits, then drop the connection mid-body, as a failing network would.
          if (chunk.byteLength > 0) await write(res, chunk);
          return void req.socket.destroy();
        }
        if (fault) fault.sent += chunk.byteLength;
        s.bytes += chunk.byteLength;
        if (res.destroyed) return;
        await write(res, chunk);
      }
      res.end();
    })().catch(() => req.socket.destroy());
  }

  async function control(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (value: unknown, status = 200): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (path === '/__control/health') return json({ ok: true });
    if (path === '/__control/stats') return json(Object.fromEntries(stats));
    if (req.method !== 'POST') return json({ error: 'use POST' }, 405);
    const text = await readBody(req);
    if (path === '/__control/reset') {
      stats.clear();
      faults.clear();
      return json({ ok: true });
    }
    if (path === '/__control/fault') {
      const f = JSON.parse(text) as Fault;
      if (typeof f.path !== 'string' || !(f.afterBytes >= 0))
        return json({ error: 'want {path, afterBytes}' }, 400);
      faults.set(f.path, { ...f, sent: 0, cut: false });
      return json({ ok: true });
    }
    json({ error: `unknown control ${path}` }, 404);
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    faults,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range as [start, end); undefined if unsatisfiable. */
function parseRange(header: string, size: number): [number, number] | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n > 0 ? [size - n, size] : undefined;
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size : Math.min(Number(m[2]) + 1, size);
  return start < size && start < end ? [start, end] : undefined;
}

function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((ok) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      ok();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Generated files are kept (a couple at most), so serving them costs what serving a file does. */
const generated = new Map<string, Uint8Array>();
const MAX_GENERATED_BYTES = 256 * 1024 * 1024;

function* syntheticPieces(
  name: string,
  size: number,
  version: string,
  start: number,
  end: number,
): Generator<Uint8Array, void, unknown> {
  if (size > MAX_GENERATED_BYTES) {
    yield syntheticBytes(name, size, version, start, end);
    return;
  }
  const key = `${name}#${version}#${size}`;
  let bytes = generated.get(key);
  if (!bytes) {
    bytes = syntheticBytes(name, size, version);
    let total = bytes.byteLength;
    for (const [k, b] of generated) {
      if (total + b.byteLength <= MAX_GENERATED_BYTES) total += b.byteLength;
      else generated.delete(k);
    }
    generated.set(key, bytes);
  }
  for (let at = start; at < end; at += PIECE) yield bytes.subarray(at, Math.min(end, at + PIECE));
}

const PIECE = 256 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => ok(text));
    req.on('error', fail);
  });
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}

/** Same default as vitest.config.ts: the shared models folder beside the repository. */
export function defaultModelsDir(): string {
  return process.env.EDGELM_MODELS_DIR ?? resolve(import.meta.dirname, '../../../shared/models');
}
