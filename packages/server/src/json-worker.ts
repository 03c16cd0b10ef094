import { Worker } from 'node:worker_threads';

/** Runs in the worker: parse, or say why not. Plain JS, so it needs no loader. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const decoder = new TextDecoder();
parentPort.on('message', ({ id, bytes }) => {
  try {
    parentPort.postMessage({ id, ok: true, value: JSON.parse(decoder.decode(bytes)) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
`;

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/**
 * Parses large JSON bodies on a worker thread, so a megabyte of JSON costs the event loop a
 * transfer and a structured-clone copy instead of the parse itself: `/healthz`, `/metrics` and
 * every other request keep being answered meanwhile. One worker, started on first use, not
 * keeping the process alive.
 */
export class JsonWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  parse(bytes: Uint8Array): Promise<unknown> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      // A private copy, transferred: the caller's buffer may be a slice of a pooled one.
      const own = bytes.slice();
      worker.postMessage({ id, bytes: own }, [own.buffer]);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      if (r.ok) p.resolve(r.value);
      else p.reject(new SyntaxError(r.message));
    });
    // A crashed worker fails what it held; the next parse starts a fresh one.
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`JSON worker exited (${code})`)));
    this.worker = w;
    return w;
  }
}
