import type { Engine } from '../api/engine.js';
import type { EngineInfo } from '../api/types.js';
import { EdgeLMError, toEdgeLMError } from '../errors.js';
import type { EngineHost } from '../worker/engine-host.js';
import { Comlink } from '../worker/transfer.js';
import { callId, WorkerEngine } from '../worker/worker-engine.js';
import { createLocalEngine, type LocalEngineCreateOptions } from './create-local-engine.js';

/** Options of {@link createEngine}. */
export interface EngineOptions extends LocalEngineCreateOptions {
  /**
   * Where the engine runs. Default in a browser page: a dedicated module worker started from
   * the SDK's own worker script (`@edgelm/sdk/worker`); `false` runs it in the calling thread
   * (always so in Node and inside workers); or a `Worker` you started yourself, e.g.
   * `new Worker(new URL('@edgelm/sdk/worker', import.meta.url), { type: 'module' })`.
   */
  worker?: boolean | Worker;
}

function defaultWorker(): Worker {
  // The literal `new Worker(new URL(…, import.meta.url))` is the pattern Vite, webpack and
  // Parcel recognise: they bundle the worker and rewrite the URL.
  return new Worker(new URL('../worker/engine-worker.js', import.meta.url), {
    type: 'module',
    name: 'edgelm',
  });
}

/**
 * Rejects once the worker itself fails: its script did not load or threw at the top level. A
 * module worker that never starts answers no message, so without this the load would hang.
 */
function workerFailure(worker: Worker): { failed: Promise<never>; stop: () => void } {
  let stop = (): void => {};
  const failed = new Promise<never>((_, reject) => {
    const onError = (e: Event): void => {
      const detail = e instanceof ErrorEvent && e.message ? `: ${e.message}` : '';
      reject(
        new EdgeLMError(
          'WORKER_ERROR',
          `The engine's worker failed to start${detail} (is the worker script served, and is your bundler's worker output an ES module?)`,
        ),
      );
    };
    const onMessageError = (): void =>
      reject(new EdgeLMError('WORKER_ERROR', "A message from the engine's worker could not be read"));
    worker.addEventListener('error', onError);
    worker.addEventListener('messageerror', onMessageError);
    stop = () => {
      worker.removeEventListener('error', onError);
      worker.removeEventListener('messageerror', onMessageError);
    };
  });
  failed.catch(() => {});
  return { failed, stop };
}

/** Rejects with ABORTED when `signal` aborts (at once if it already has). */
function aborted(
  signal: AbortSignal | undefined,
  onAbort: () => void,
): { promise: Promise<never>; stop: () => void } {
  let stop = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    if (!signal) return;
    const fire = (): void => {
      onAbort();
      reject(new EdgeLMError('ABORTED', 'Loading was aborted'));
    };
    if (signal.aborted) return fire();
    signal.addEventListener('abort', fire, { once: true });
    stop = () => signal.removeEventListener('abort', fire);
  });
  promise.catch(() => {});
  return { promise, stop };
}

/**
 * Loads a model and returns an {@link Engine}. In a browser page the engine runs in a Web
 * Worker; `signal` cancels the load there as it does in-thread (ABORTED), and a worker that
 * cannot start rejects with WORKER_ERROR instead of hanging.
 *
 * @example
 * ```ts
 * import { createEngine } from '@edgelm/sdk';
 * const engine = await createEngine({
 *   model: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin',
 *   tokenizer: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin',
 * });
 * const stream = engine.generate('Once upon a time', { maxTokens: 100 });
 * for await (const { text } of stream) console.log(text);
 * console.log((await stream.result).timings);
 * ```
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const inPage = typeof window !== 'undefined' && typeof Worker !== 'undefined';
  const useWorker = options.worker instanceof Object ? true : (options.worker ?? inPage);
  if (!useWorker) return createLocalEngine(options);
  if (options.device)
    throw new EdgeLMError('INVALID_ARGUMENT', 'A GPUDevice cannot be sent to a worker: pass worker: false');
  if (options.fetch)
    throw new EdgeLMError(
      'INVALID_ARGUMENT',
      'A custom fetch cannot be sent to a worker: pass worker: false',
    );
  if (options.signal?.aborted) throw new EdgeLMError('ABORTED', 'Loading was aborted');
  const worker = options.worker instanceof Object ? options.worker : defaultWorker();
  const host = Comlink.wrap<EngineHost>(worker);
  const { onProgress, onMetrics, signal, worker: _w, fetch: _f, device: _d, ...rest } = options;
  const id = callId();
  const failure = workerFailure(worker);
  const abort = aborted(signal, () => void host.abort(id).catch(() => {}));
  try {
    const load: Promise<EngineInfo> = host.load(
      id,
      rest,
      onProgress && Comlink.proxy(onProgress),
      onMetrics && Comlink.proxy(onMetrics),
    );
    await Promise.race([load, failure.failed, abort.promise]);
  } catch (e) {
    host[Comlink.releaseProxy]();
    worker.terminate();
    throw toEdgeLMError(e);
  } finally {
    failure.stop();
    abort.stop();
  }
  return new WorkerEngine(host, worker);
}
