import { createReadStream, type Dirent, readdirSync, type Stats, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';

/** One file of the models directory, as `/__edgelm/env.json` lists it. */
export interface ModelDirEntry {
  /** Path under `/models/`. */
  path: string;
  size: number;
  kind: 'llama2c' | 'gguf' | 'tokenizer' | 'onnx';
}

/** What the page learns about the server it came from (absent when offline). */
export interface DemoEnv {
  models: ModelDirEntry[];
  /** Same-origin base URL of the remote fallback server, when one is configured. */
  remote: string | null;
}

export interface ModelsDirOptions {
  /** Folder to serve; undefined serves nothing and lists nothing. */
  dir: string | undefined;
  /** Whether `/remote/` is proxied to a fallback server. */
  remote: boolean;
}

/**
 * Serves `EDGELM_MODELS_DIR` under `/models/` (GET/HEAD with single Range requests and an ETag,
 * which the SDK's chunked weight cache relies on) and describes it at `/__edgelm/env.json`, in
 * both `vite` (dev) and `vite preview`.
 */
export function modelsDir(options: ModelsDirOptions): Plugin {
  const dir = options.dir === undefined ? undefined : resolve(options.dir);
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/__edgelm/env.json') {
      const env: DemoEnv = {
        models: dir ? listModels(dir) : [],
        remote: options.remote ? '/remote/v1' : null,
      };
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-store');
      return void res.end(JSON.stringify(env));
    }
    if (!url.pathname.startsWith('/models/') || !dir) return next();
    const file = normalize(join(dir, decodeURIComponent(url.pathname.slice('/models/'.length))));
    if (!file.startsWith(dir)) {
      notFound(res);
      return;
    }
    serveFile(req, res, file);
  };
  return {
    name: 'edgelm-models-dir',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

function listModels(dir: string, prefix = ''): ModelDirEntry[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(dir, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: ModelDirEntry[] = [];
  for (const e of entries) {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory() && !prefix) {
      // An ONNX export is a folder (model.onnx + config.json + tokenizer-data.json).
      const inner = listModels(dir, path);
      const onnx = inner.find((m) => m.path.endsWith('/model.onnx'));
      if (onnx) out.push({ path: `${path}/`, size: onnx.size, kind: 'onnx' });
      continue;
    }
    if (!e.isFile()) continue;
    const size = statSync(join(dir, path)).size;
    if (e.name.endsWith('.gguf')) out.push({ path, size, kind: 'gguf' });
    else if (e.name.endsWith('.onnx')) out.push({ path, size, kind: 'onnx' });
    else if (/^tok.*\.bin$/.test(e.name)) out.push({ path, size, kind: 'tokenizer' });
    else if (e.name.endsWith('.bin')) out.push({ path, size, kind: 'llama2c' });
  }
  return out.sort((a, b) => a.size - b.size);
}

function serveFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  const st = statOrUndefined(file);
  if (!st?.isFile()) {
    notFound(res);
    return;
  }
  const size = st.size;
  const mtime = st.mtimeMs;
  const etag = `"${size.toString(16)}-${Math.floor(mtime).toString(16)}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Content-Type', 'application/octet-stream');
  let start = 0;
  let end = size;
  const range = req.headers.range;
  if (range) {
    const r = parseRange(range, size);
    if (!r) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      return void res.end();
    }
    [start, end] = r;
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${size}`);
  }
  res.setHeader('Content-Length', end - start);
  if (req.method === 'HEAD' || end === start) return void res.end();
  createReadStream(file, { start, end: end - 1 }).pipe(res);
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range as [start, end); undefined if unsatisfiable. */
export function parseRange(header: string, size: number): [number, number] | undefined {
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

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function notFound(res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain');
  res.end('not found');
}
