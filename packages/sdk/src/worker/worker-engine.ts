import type { ChatCompletions, Engine, EngineStats } from '../api/engine.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EngineInfo,
  GenerateChunk,
  GenerateOptions,
  GenerateResult,
  GenerateStream,
} from '../api/types.js';
import { AsyncQueue } from '../engine/async-queue.js';
import { EdgeLMError, toEdgeLMError } from '../errors.js';
import type { EngineHost } from './engine-host.js';
import { Comlink, type StreamEvent } from './transfer.js';

let nextId = 1;

/** A fresh id for one call across the worker (a stream, or a load that can be aborted). */
export function callId(): string {
  return `w${nextId++}`;
}

/**
 * The page side of the worker engine: the same `Engine` interface, every call forwarded to an
 * {@link EngineHost} in a dedicated worker through comlink, so the page never blocks.
 */
export class WorkerEngine implements Engine {
  readonly chat: { readonly completions: ChatCompletions };
  /** Sinks of the streams in flight, so a crashed worker ends them instead of leaving them hanging. */
  private readonly live = new Set<(e: StreamEvent<never, never>) => void>();
  private crashed: EdgeLMError | null = null;

  constructor(
    private readonly host: Comlink.Remote<EngineHost>,
    private readonly worker: Worker,
  ) {
    const create = (req: ChatCompletionRequest) => this.createChat(req);
    this.chat = { completions: { create } as ChatCompletions };
    worker.addEventListener('error', (e) => {
      const detail = e instanceof ErrorEvent && e.message ? `: ${e.message}` : '';
      this.crashed = new EdgeLMError('WORKER_ERROR', `The engine's worker failed${detail}`);
      for (const sink of [...this.live]) sink({ type: 'error', error: this.crashed.toJSON() });
    });
  }

  private stream<C, R>(
    start: (id: string, sink: (e: StreamEvent<C, R>) => void) => Promise<void>,
    signal?: AbortSignal,
  ) {
    const id = callId();
    const queue = new AsyncQueue<C>();
    let resolve!: (r: R) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {});
    const onAbort = () => void this.host.abort(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.onCancel(onAbort);
    let settled = false;
    const sink = (e: StreamEvent<C, R>) => {
      if (settled) return;
      if (e.type === 'chunk') return queue.push(e.chunk);
      settled = true;
      this.live.delete(sink);
      signal?.removeEventListener('abort', onAbort);
      if (e.type === 'end') {
        queue.close();
        resolve(e.result);
      } else {
        const err = EdgeLMError.fromJSON(e.error);
        queue.close(err);
        reject(err);
      }
    };
    this.live.add(sink);
    if (this.crashed) sink({ type: 'error', error: this.crashed.toJSON() });
    // The transfer handler has already rebuilt an EdgeLMError with its code; anything else is INTERNAL.
    else
      start(id, Comlink.proxy(sink)).catch((e) => sink({ type: 'error', error: toEdgeLMError(e).toJSON() }));
    if (signal?.aborted) onAbort();
    return { queue, result };
  }

  generate(prompt: string | readonly number[], options: GenerateOptions = {}): GenerateStream {
    const { signal, ...rest } = options;
    const p = typeof prompt === 'string' ? prompt : [...prompt];
    const { queue, result } = this.stream<GenerateChunk, GenerateResult>(
      (id, sink) => this.host.generate(id, p, rest, sink),
      signal,
    );
    return Object.assign(queue, { result });
  }

  private async createChat(
    req: ChatCompletionRequest,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const { signal, ...rest } = req;
    const { queue } = this.stream<ChatCompletionChunk, null>(
      (id, sink) => this.host.chat(id, rest, sink),
      signal,
    );
    if (req.stream) return queue;
    let content = '';
    let last: ChatCompletionChunk | undefined;
    for await (const c of queue) {
      content += c.choices[0]?.delta.content ?? '';
      last = c;
    }
    if (!last) throw new EdgeLMError('INTERNAL', 'The worker sent no completion');
    const u = last.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    return {
      id: last.id,
      object: 'chat.completion',
      created: last.created,
      model: last.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content },
          finish_reason: last.choices[0]?.finish_reason ?? 'stop',
        },
      ],
      usage: u,
      edgelm: last.edgelm,
    };
  }

  info(): Promise<EngineInfo> {
    return this.host.info();
  }

  stats(): Promise<EngineStats> {
    return this.host.stats();
  }

  tokenize(text: string): Promise<number[]> {
    return this.host.tokenize(text);
  }

  async unload(): Promise<void> {
    await this.host.unload();
    this.host[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
