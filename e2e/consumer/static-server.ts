import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

export interface StaticServer {
  url: string;
  /** Requests that carried a Range header (which this server ignores). */
  rangeRequests: number;
  close(): Promise<void>;
}

/**
 * The plainest static server: files from the first of `roots` that has them, always 200 with the
 * whole file, no Range support (like `python3 -m http.server`), so a consumer app's models load
 * through the SDK's one-GET path. Cross-origin isolated, like the Vite config of the app.
 */
export async function startStaticServer(roots: string[]): Promise<StaticServer> {
  const state = { rangeRequests: 0 };
  const server: Server = createServer(async (req, res) => {
    if (req.headers.range) state.rangeRequests++;
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    for (const root of roots) {
      const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) continue;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': String(info.size),
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cache-control': 'no-store',
      });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get rangeRequests() {
      return state.rangeRequests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
