import { createEngine, type Engine, isEdgeLMError } from '@edgelm/sdk';

/** Everything crosses page.evaluate as JSON, errors included. */
export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; code: string; message: string; details: unknown };

export interface DeviceOptions {
  /** Base URL of the remote (an @edgelm/server started by the spec, on another port). */
  serverUrl: string;
  privacy: 'local-only' | 'allow-remote';
  /** The device model's context: stories260K with its llama2.c header rewritten to this seq_len. */
  contextLength: number;
}

export interface RunReport {
  text: string;
  streamed: string;
  servedBy: 'local' | 'remote';
  routeReason: string;
}

declare global {
  interface Window {
    remoteHarness: typeof harness;
  }
}

let engine: Engine | undefined;

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (isEdgeLMError(e)) return { ok: false, code: e.code, message: e.message, details: e.details };
    return { ok: false, code: 'THROWN', message: String(e), details: null };
  }
}

async function bytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(path)).arrayBuffer());
}

const harness = {
  /** Loads the device engine in its Web Worker, with a fallback to `serverUrl`. */
  load(o: DeviceOptions): Promise<Outcome<null>> {
    return outcome(async () => {
      await engine?.unload();
      const model = await bytes('/models/stories260K.bin');
      // Header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len (int32 each).
      new DataView(model.buffer).setInt32(24, o.contextLength, true);
      engine = await createEngine({
        model,
        tokenizer: await bytes('/models/tok512.bin'),
        backend: 'cpu',
        worker: new Worker('/harness/engine-worker.js', { type: 'module' }),
        responseCache: false,
        fallback: { url: o.serverUrl, privacy: o.privacy },
      });
      return null;
    });
  },

  generate(
    prompt: string,
    maxTokens: number,
    route?: 'auto' | 'local' | 'remote',
  ): Promise<Outcome<RunReport>> {
    return outcome(async () => {
      const stream = engine!.generate(prompt, { maxTokens, route });
      let streamed = '';
      for await (const c of stream) streamed += c.text;
      const r = await stream.result;
      return { text: r.text, streamed, servedBy: r.servedBy, routeReason: r.routeReason };
    });
  },
};

window.remoteHarness = harness;
