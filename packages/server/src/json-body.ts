import type { IncomingMessage } from 'node:http';
import { EdgeLMError } from '@edgelm/sdk';
import type { JsonWorker } from './json-worker.js';

/** Bodies above this are parsed on the worker thread; below, a parse costs less than the hop. */
const OFFLOAD_BYTES = 64 * 1024;

function tooLarge(maxBytes: number): EdgeLMError {
  return new EdgeLMError('LIMIT_EXCEEDED', `The request body exceeds ${maxBytes} bytes`, {
    status: 413,
    param: 'body',
  });
}

async function parse(bytes: Buffer, worker: JsonWorker | undefined): Promise<unknown> {
  try {
    if (worker && bytes.byteLength > OFFLOAD_BYTES) return await worker.parse(bytes);
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new EdgeLMError('INVALID_ARGUMENT', 'The request body is not valid JSON', { param: 'body' }, e);
  }
}

/**
 * Reads and parses a JSON body of at most `maxBytes`: a declared Content-Length over the limit
 * is refused before a byte is read, and a chunked body as soon as it passes the limit. It reads
 * Node's request stream directly (no copies through web streams) and parses a large body on the
 * `worker` thread, so a megabyte of JSON does not hold the event loop.
 */
export async function readJsonBody(
  incoming: IncomingMessage | undefined,
  request: Request,
  maxBytes: number,
  worker?: JsonWorker,
): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!incoming) {
    // Not behind Node's HTTP server (app.request in tests): the web body, same limit.
    const bytes = Buffer.from(await request.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
    return parse(bytes, worker);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return parse(Buffer.concat(chunks, size), worker);
}
