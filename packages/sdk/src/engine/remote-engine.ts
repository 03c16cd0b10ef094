import { type ChatCompletions, type Engine, type EngineStats, emptyStats } from '../api/engine.js';
import type { ChatCompletionRequest, EngineInfo, GenerateOptions, GenerateStream } from '../api/types.js';
import type { ModelConfig } from '../model/config.js';
import { type FallbackPolicy, RemoteClient } from '../remote/index.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { toChatChunks, toChatCompletion } from './openai.js';

/**
 * The engine when nothing can run on this device (no backend, or the model does not fit) and
 * the policy lets requests leave it: the same `Engine` interface, every request sent to the
 * fallback server with the reason attached to its result.
 */
export class RemoteEngine implements Engine {
  readonly chat: { readonly completions: ChatCompletions };
  private readonly client: RemoteClient;
  private nextId = 1;
  private readonly counts = {
    requests: 0,
    completed: 0,
    aborted: 0,
    failed: 0,
    promptTokens: 0,
    completionTokens: 0,
  };

  constructor(
    private readonly fallback: FallbackPolicy,
    private readonly reason: string,
    /** The model the app asked for, as its header says: what `info()` reports. */
    private readonly local: {
      tokenizer?: Tokenizer;
      config: ModelConfig;
      format: EngineInfo['model']['format'];
      bytes: number;
      name: string;
    },
  ) {
    this.client = new RemoteClient({ url: fallback.url, apiKey: fallback.apiKey, model: fallback.model });
    const create = (req: ChatCompletionRequest) => this.createChat(req);
    this.chat = { completions: { create } as ChatCompletions };
  }

  generate(prompt: string | readonly number[], options: GenerateOptions = {}): GenerateStream {
    return this.counted(
      this.client.generate(typeof prompt === 'string' ? prompt : [...prompt], {
        ...options,
        routeReason: this.reason,
      }),
    );
  }

  private async createChat(req: ChatCompletionRequest) {
    const id = `chatcmpl-remote-${this.nextId++}`;
    const stream = this.counted(this.client.chat(req, { routeReason: this.reason }));
    const model = this.fallback.model ?? this.local.name;
    return req.stream ? toChatChunks(stream, id, model) : toChatCompletion(stream, id, model);
  }

  async info(): Promise<EngineInfo> {
    return {
      backend: 'remote',
      model: {
        name: this.fallback.model ?? this.local.name,
        format: this.local.format,
        config: this.local.config,
        bytes: this.local.bytes,
      },
      kv: { pageSize: 0, pageCount: 0, pageBytes: 0 },
    };
  }

  /** Counts a request and, once it settles, how it ended; the caller's own handling is untouched. */
  private counted(stream: GenerateStream): GenerateStream {
    const c = this.counts;
    c.requests++;
    stream.result.then(
      (r) => {
        if (r.finishReason === 'abort') c.aborted++;
        else c.completed++;
        c.promptTokens += r.usage.promptTokens;
        c.completionTokens += r.usage.completionTokens;
      },
      () => {
        c.failed++;
      },
    );
    return stream;
  }

  async stats(): Promise<EngineStats> {
    return { ...emptyStats(), ...this.counts, remoteRequests: this.counts.requests };
  }

  async tokenize(text: string): Promise<number[]> {
    return this.local.tokenizer?.encode(text) ?? [];
  }

  async unload(): Promise<void> {}
}
