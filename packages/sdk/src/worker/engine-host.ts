import type { Engine, EngineStats } from '../api/engine.js';
import type {
  ChatCompletionChunk,
  ChatCompletionRequest,
  EngineInfo,
  GenerateChunk,
  GenerateOptions,
  GenerateResult,
  LoadProgress,
  RequestMetrics,
} from '../api/types.js';
import { createLocalEngine, type LocalEngineCreateOptions } from '../engine/create-local-engine.js';
import { EdgeLMError, toEdgeLMError } from '../errors.js';
import { Comlink, type StreamEvent } from './transfer.js';

/** What crosses to the worker: everything but functions and signals, which travel as proxies and aborts. */
export type WorkerLoadOptions = Omit<
  LocalEngineCreateOptions,
  'onProgress' | 'onMetrics' | 'fetch' | 'signal' | 'device'
>;

type Sink<C, R> = (e: StreamEvent<C, R>) => void;

/**
 * The worker side of the worker engine: owns a LocalEngine and streams its output to the page
 * through comlink callbacks. Aborts arrive by request id, since AbortSignals cannot be posted.
 */
export class EngineHost {
  private engine: Engine | null = null;
  private readonly aborts = new Map<string, AbortController>();

  /** Loads a model; `abort(id)` cancels the load as the page's `signal` would in-thread. */
  async load(
    id: string,
    options: WorkerLoadOptions,
    onProgress?: (p: LoadProgress) => void,
    onMetrics?: (m: RequestMetrics) => void,
  ): Promise<EngineInfo> {
    const ac = new AbortController();
    this.aborts.set(id, ac);
    try {
      await this.engine?.unload();
      this.engine = null;
      this.engine = await createLocalEngine({ ...options, signal: ac.signal, onProgress, onMetrics });
      return await this.engine.info();
    } finally {
      this.aborts.delete(id);
    }
  }

  private get e(): Engine {
    if (!this.engine) throw new EdgeLMError('DISPOSED', 'No model is loaded in the worker');
    return this.engine;
  }

  private async pump<C, R>(
    id: string,
    stream: AsyncIterable<C>,
    result: () => Promise<R>,
    sink: Sink<C, R>,
  ): Promise<void> {
    try {
      for await (const chunk of stream) sink({ type: 'chunk', chunk });
      sink({ type: 'end', result: await result() });
    } catch (e) {
      sink({ type: 'error', error: toEdgeLMError(e).toJSON() });
    } finally {
      this.aborts.delete(id);
    }
  }

  generate(
    id: string,
    prompt: string | number[],
    options: Omit<GenerateOptions, 'signal'>,
    sink: Sink<GenerateChunk, GenerateResult>,
  ): void {
    const ac = new AbortController();
    this.aborts.set(id, ac);
    try {
      const s = this.e.generate(prompt, { ...options, signal: ac.signal });
      void this.pump(id, s, () => s.result, sink);
    } catch (e) {
      sink({ type: 'error', error: toEdgeLMError(e).toJSON() });
    }
  }

  chat(
    id: string,
    request: Omit<ChatCompletionRequest, 'signal'>,
    sink: Sink<ChatCompletionChunk, null>,
  ): void {
    const ac = new AbortController();
    this.aborts.set(id, ac);
    void (async () => {
      try {
        const chunks = await this.e.chat.completions.create({ ...request, stream: true, signal: ac.signal });
        await this.pump(id, chunks, async () => null, sink);
      } catch (e) {
        sink({ type: 'error', error: toEdgeLMError(e).toJSON() });
      }
    })();
  }

  abort(id: string): void {
    this.aborts.get(id)?.abort();
  }

  info(): Promise<EngineInfo> {
    return this.e.info();
  }

  stats(): Promise<EngineStats> {
    return this.e.stats();
  }

  tokenize(text: string): Promise<number[]> {
    return this.e.tokenize(text);
  }

  async unload(): Promise<void> {
    await this.engine?.unload();
    this.engine = null;
  }
}

/** Makes this worker an engine host; the worker entry calls it. */
export function exposeEngineHost(): void {
  Comlink.expose(new EngineHost());
}
