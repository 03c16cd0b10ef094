import type { Engine } from '../api/engine.js';
import { EdgeLMError } from '../errors.js';
import type { EngineHost } from '../worker/engine-host.js';
import { Comlink } from '../worker/transfer.js';
import { WorkerEngine } from '../worker/worker-engine.js';
import { createLocalEngine, type LocalEngineCreateOptions } from './create-local-engine.js';

/** Options of {@link createEngine}. */
export interface EngineOptions extends LocalEngineCreateOptions {
  /**
   * Where the engine runs. Default in a browser page: a dedicated module worker started from
   * the SDK's own worker script; `false` runs it in the calling thread (always so in Node and
   * inside workers); a `Worker` you built yourself (e.g. with your bundler's worker import).
   */
  worker?: boolean | Worker;
}

function defaultWorker(): Worker {
  return new Worker(new URL('../worker/engine-worker.js', import.meta.url), {
    type: 'module',
    name: 'edgelm',
  });
}

/**
 * Loads a model and returns an {@link Engine}.
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
  const worker = options.worker instanceof Object ? options.worker : defaultWorker();
  const host = Comlink.wrap<EngineHost>(worker);
  const { onProgress, onMetrics, signal: _signal, worker: _w, fetch: _f, device: _d, ...rest } = options;
  try {
    await host.load(rest, onProgress && Comlink.proxy(onProgress), onMetrics && Comlink.proxy(onMetrics));
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return new WorkerEngine(host, worker);
}
