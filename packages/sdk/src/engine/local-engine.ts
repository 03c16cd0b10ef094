import { type ChatCompletions, type Engine, type EngineStats, emptyStats } from '../api/engine.js';
import type {
  ChatCompletionRequest,
  EngineInfo,
  GenerateChunk,
  GenerateOptions,
  GenerateResult,
  GenerateStream,
  RequestMetrics,
} from '../api/types.js';
import type { Backend } from '../backends/backend.js';
import { ResponseCache, type ResponseCacheOptions, withResponseCache } from '../cache/index.js';
import { EdgeLMError, toEdgeLMError } from '../errors.js';
import { grammarSpecOf } from '../grammar/grammar-spec.js';
import { GrammarRegistry } from '../grammar/registry.js';
import { type ToolCallFormat, toolCallFormat } from '../grammar/tool-calls.js';
import type { ModelFile } from '../model/model-file.js';
import { decideRoute, type FallbackPolicy, RemoteClient, type RouteDecision } from '../remote/index.js';
import { resolveSampling } from '../sampler/params.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { AsyncQueue } from './async-queue.js';
import { ChatTemplate } from './chat-template.js';
import { PagePool } from './kv/page-pool.js';
import { PrefixCache } from './kv/prefix-cache.js';
import { withLocalFailureRetry } from './local-failure-retry.js';
import { chatToGenerateOptions, toChatChunks, toChatCompletion } from './openai.js';
import { Request } from './request.js';
import { Scheduler } from './scheduler.js';

/** Options of a {@link LocalEngine} that do not concern loading. */
export interface LocalEngineOptions {
  /** Most sequences decoded together (default 16); 1 turns continuous batching off. */
  maxBatch?: number;
  /** Prompt tokens per prefill step (default 128). */
  prefillChunk?: number;
  /**
   * Longest one multi-step decode call should take, in ms (default 16, about a display frame):
   * tokens stream in bursts of at most this long. 0 decodes one token per backend call.
   */
  decodeBudgetMs?: number;
  /** Bytes of KV the prefix cache may keep between requests (default: half the KV pool). */
  prefixCacheBytes?: number;
  /** Where requests go when the device cannot serve them. */
  fallback?: FallbackPolicy;
  /** Called once per finished request. */
  onMetrics?: (m: RequestMetrics) => void;
  /** A name for `info()` and OpenAI's `model` field. */
  modelName?: string;
  modelBytes?: number;
  adapter?: EngineInfo['adapter'];
  /**
   * Answers repeated deterministic requests (greedy, or a fixed seed) from a cache; per request,
   * `cache: true | false` overrides. Default: on, in IndexedDB where it exists, else in memory.
   * `false` turns it off.
   */
  responseCache?: boolean | ResponseCacheOptions | ResponseCache;
  /** Identifies the weights in response-cache keys (a content digest; default: name, size and shape). */
  modelId?: string;
}

/** The stream of a request whose prompt is still being tokenized. */
function deferredStream(start: Promise<GenerateStream>): GenerateStream {
  const result = start.then((s) => s.result);
  result.catch(() => {});
  return {
    result,
    async *[Symbol.asyncIterator]() {
      yield* await start;
    },
  };
}

const ZERO_TIMINGS = { ttftMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0, totalMs: 0 };

/**
 * The engine that runs a loaded model in this thread: tokenizer, scheduler with continuous
 * batching, prefix KV cache, sampling, stop strings, chat template, remote routing. The worker
 * engine wraps one of these; `createEngine` builds it.
 */
export class LocalEngine implements Engine {
  readonly tokenizer: Tokenizer;
  readonly chat: { readonly completions: ChatCompletions };
  private readonly scheduler: Scheduler;
  private readonly pool: PagePool;
  private readonly prefix: PrefixCache;
  private readonly template: ChatTemplate;
  private readonly remote: RemoteClient | null;
  private readonly responses: ResponseCache | null;
  private readonly modelId: string;
  private readonly grammars: GrammarRegistry;
  /** The tool-call syntax the model's chat template declares. */
  private readonly toolFormat: ToolCallFormat;
  private nextId = 1;
  private unloaded = false;
  private readonly counters: EngineStats = emptyStats();

  constructor(
    readonly model: ModelFile,
    readonly backend: Backend,
    private readonly options: LocalEngineOptions = {},
  ) {
    this.tokenizer = new Tokenizer(model.tokenizer);
    this.grammars = new GrammarRegistry(this.tokenizer);
    this.toolFormat = toolCallFormat(model.chatTemplate);
    const tokens = model.tokenizer.tokens;
    this.template = new ChatTemplate(model.chatTemplate, {
      bos: tokens[model.tokenizer.bos] ?? '',
      eos: tokens[model.tokenizer.eos] ?? '',
      controlSpans: (text) => this.tokenizer.controlSpans(text),
    });
    this.pool = new PagePool(backend.pageCount);
    const prefixPages = Math.floor(
      (options.prefixCacheBytes ?? (backend.pageCount * backend.pageBytes) / 2) / backend.pageBytes,
    );
    this.prefix = new PrefixCache(this.pool, backend.pageSize, prefixPages);
    this.scheduler = new Scheduler(
      backend,
      this.pool,
      this.prefix,
      this.tokenizer,
      {
        maxBatch: Math.max(1, options.maxBatch ?? 16),
        prefillChunk: Math.max(1, options.prefillChunk ?? 128),
        decodeBudgetMs: options.decodeBudgetMs,
      },
      model.config.contextLength,
    );
    this.scheduler.onFinish = (r) => this.finished(r);
    const fb = options.fallback;
    this.remote =
      fb && fb.privacy === 'allow-remote'
        ? new RemoteClient({ url: fb.url, apiKey: fb.apiKey, model: fb.model })
        : null;
    const rc = options.responseCache ?? true;
    this.responses =
      rc === false ? null : rc instanceof ResponseCache ? rc : new ResponseCache(rc === true ? {} : rc);
    this.modelId =
      options.modelId ?? `${this.modelName}:${options.modelBytes ?? 0}:${JSON.stringify(model.config)}`;
    const create = (req: ChatCompletionRequest) => this.createChat(req);
    this.chat = { completions: { create } as ChatCompletions };
  }

  get modelName(): string {
    return this.options.modelName ?? String(this.model.metadata['general.name'] ?? 'edgelm-model');
  }

  async tokenize(text: string): Promise<number[]> {
    return this.tokenizer.encodeAsync(text);
  }

  /**
   * Tokens a prompt may have before it is refused: the context, unless a remote server may take
   * what does not fit here (then only the tokenizer's input cap applies).
   */
  private promptBudget(): number | undefined {
    return this.remote ? undefined : this.model.config.contextLength;
  }

  /** Where a request of this size runs; throws when it can run nowhere. */
  private route(promptTokens: number, maxTokens: number, route: GenerateOptions['route']): RouteDecision {
    const decision = decideRoute({
      fallback: this.options.fallback,
      route,
      promptTokens,
      maxTokens,
      local: {
        backendAvailable: !this.unloaded,
        contextLength: this.model.config.contextLength,
      },
    });
    if (decision.failure)
      throw new EdgeLMError(decision.failure.code, decision.failure.message, { promptTokens, maxTokens });
    return decision;
  }

  generate(prompt: string | readonly number[], options: GenerateOptions = {}): GenerateStream {
    if (typeof prompt !== 'string' || this.unloaded) return this.generateTokens(prompt, [...prompt], options);
    // tokenized in slices, so a long prompt never holds the event loop; counting stops at the budget
    const encoded = this.tokenizer.encodeAsync(prompt, {
      maxTokens: this.promptBudget(),
      signal: options.signal,
    });
    return deferredStream(
      encoded.then(
        (tokens) => this.generateTokens(prompt, tokens, options),
        (e: unknown) => this.generateTokens(prompt, e, options),
      ),
    );
  }

  /** `tokens`: the prompt's ids, or why tokenizing it failed. */
  private generateTokens(
    prompt: string | readonly number[],
    tokens: number[] | unknown,
    options: GenerateOptions,
  ): GenerateStream {
    try {
      if (this.unloaded) throw new EdgeLMError('DISPOSED', 'The engine was unloaded');
      if (!Array.isArray(tokens)) throw tokens;
      if (tokens.length === 0) throw new EdgeLMError('INVALID_ARGUMENT', 'The prompt is empty');
      const maxTokens = options.maxTokens ?? 256;
      const decision = this.route(tokens.length, maxTokens, options.route);
      this.counters.requests++;
      if (decision.target === 'remote') {
        this.counters.remoteRequests++;
        const stream = this.remoteClient().generate(typeof prompt === 'string' ? prompt : tokens, {
          ...options,
          routeReason: decision.reason,
        });
        return this.watch(stream);
      }
      const run = () => this.runLocal(prompt, tokens, maxTokens, options);
      if (!this.responses) return run();
      const key = {
        model: this.modelId,
        prompt: tokens,
        sampling: options,
        maxTokens,
        stop: options.stop,
        constraint: grammarSpecOf(options),
      };
      return this.watch(withResponseCache(this.responses, { key, options }, run));
    } catch (e) {
      const err = toEdgeLMError(e);
      this.counters.failed++;
      const queue = new AsyncQueue<GenerateChunk>();
      queue.close(err);
      const result = Promise.reject(err);
      result.catch(() => {});
      return Object.assign(queue, { result });
    }
  }

  /** The local run, continued on the server after a device failure when the policy says so. */
  private runLocal(
    prompt: string | readonly number[],
    tokens: number[],
    maxTokens: number,
    options: GenerateOptions,
  ): GenerateStream {
    const local = this.startLocal(tokens, maxTokens, options);
    if (!this.remote || this.options.fallback?.when?.onLocalFailure !== true) return local;
    const remote = this.remote;
    return this.watch(
      withLocalFailureRetry(this.options.fallback, prompt, options, local, (p, o) => {
        this.counters.remoteRequests++;
        return remote.generate(p, o);
      }),
    );
  }

  /** Submits a request to the scheduler; its chunks queue is the stream. */
  private startLocal(tokens: number[], maxTokens: number, options: GenerateOptions): GenerateStream {
    let resolve!: (r: GenerateResult) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<GenerateResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {}); // iterating callers see the error there; avoid an unhandled rejection
    const spec = grammarSpecOf(options);
    const grammar = spec ? this.grammars.constraint(spec) : null;
    const r = new Request(
      `req-${this.nextId++}`,
      tokens,
      resolveSampling(options),
      maxTokens,
      options.stop ?? [],
      this.tokenizer.decoder(tokens[tokens.length - 1]),
      options.signal,
      resolve,
      (e) => {
        this.counters.failed++;
        reject(e);
      },
      grammar,
    );
    this.scheduler.submit(r);
    return Object.assign(r.chunks, { result });
  }

  /** Counts and reports what did not pass through the scheduler (cache hits, remote answers). */
  private watch(stream: GenerateStream): GenerateStream {
    stream.result.then(
      (r) => {
        if (!r.cached && r.servedBy === 'local') return;
        if (r.cached) this.counters.responseCacheHits++;
        this.options.onMetrics?.({
          id: `req-${this.nextId++}`,
          servedBy: r.servedBy,
          cached: r.cached,
          promptTokens: r.usage.promptTokens,
          completionTokens: r.usage.completionTokens,
          prefixTokensReused: r.prefixTokensReused,
          ttftMs: r.timings.ttftMs,
          prefillTokensPerSecond: r.timings.prefillTokensPerSecond,
          decodeTokensPerSecond: r.timings.decodeTokensPerSecond,
          finishReason: r.finishReason,
        });
      },
      () => {},
    );
    return stream;
  }

  private remoteClient(): RemoteClient {
    if (!this.remote) throw new EdgeLMError('POLICY_DENIED', 'No remote server may be used');
    return this.remote;
  }

  private async createChat(req: ChatCompletionRequest) {
    const id = `chatcmpl-${this.nextId++}`;
    const tools = req.tool_choice === 'none' ? undefined : req.tools;
    const mode = { tools: tools?.length ? this.toolFormat : null };
    // only the template's own text may hold control tokens; user content stays plain text
    const parts = this.template.renderParts(req.messages, tools?.length ? { tools } : {});
    const opts = chatToGenerateOptions(req, this.toolFormat);
    const tokens = await this.tokenizer.encodeAsync(parts, {
      bos: false,
      maxTokens: this.promptBudget(),
      signal: req.signal,
    });
    // the template usually writes BOS itself; add it only where it did not (llama.cpp: never twice)
    if (this.tokenizer.data.addBos && tokens[0] !== this.tokenizer.bos) tokens.unshift(this.tokenizer.bos);
    const decision = this.route(tokens.length, opts.maxTokens ?? 256, opts.route);
    let stream: GenerateStream;
    if (decision.target === 'remote') {
      this.counters.requests++;
      this.counters.remoteRequests++;
      stream = this.remoteClient().chat(req, { routeReason: decision.reason });
    } else {
      stream = this.generate(tokens, opts);
    }
    return req.stream
      ? toChatChunks(stream, id, this.modelName, mode)
      : toChatCompletion(stream, id, this.modelName, mode);
  }

  /** Builds the result of a local request and reports its metrics. */
  private finished(r: Request): void {
    const now = performance.now();
    const prefillMs = Math.max(1e-3, (r.prefillDoneAt || now) - r.startedAt);
    const decodeMs = Math.max(1e-3, now - (r.prefillDoneAt || now));
    const computedPrompt = r.promptTokens - r.prefixTokensReused;
    const result: GenerateResult = {
      text: r.text,
      tokens: r.generated,
      finishReason: r.finish ?? 'stop',
      usage: {
        promptTokens: r.promptTokens,
        completionTokens: r.generated.length,
        totalTokens: r.promptTokens + r.generated.length,
      },
      timings: r.generated.length
        ? {
            ttftMs: r.firstTokenAt - r.startedAt,
            prefillTokensPerSecond: (computedPrompt * 1000) / prefillMs,
            decodeTokensPerSecond: r.generated.length > 1 ? ((r.generated.length - 1) * 1000) / decodeMs : 0,
            totalMs: now - r.startedAt,
          }
        : { ...ZERO_TIMINGS, totalMs: now - r.startedAt },
      prefixTokensReused: r.prefixTokensReused,
      cached: false,
      servedBy: 'local',
      routeReason: 'served on this device',
    };
    const c = this.counters;
    if (result.finishReason === 'abort') c.aborted++;
    else c.completed++;
    c.promptTokens += r.promptTokens;
    c.completionTokens += r.generated.length;
    c.prefixTokensReused += r.prefixTokensReused;
    this.options.onMetrics?.({
      id: r.id,
      servedBy: 'local',
      cached: false,
      promptTokens: r.promptTokens,
      completionTokens: r.generated.length,
      prefixTokensReused: r.prefixTokensReused,
      ttftMs: result.timings.ttftMs,
      prefillTokensPerSecond: result.timings.prefillTokensPerSecond,
      decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
      finishReason: result.finishReason,
    });
    r.chunks.close();
    r.resolve(result);
  }

  async info(): Promise<EngineInfo> {
    return {
      backend: this.backend.name,
      model: {
        name: this.modelName,
        format: this.model.format,
        config: this.model.config,
        bytes: this.options.modelBytes ?? this.model.tensors.reduce((a, t) => a + t.byteLength, 0),
      },
      adapter: this.options.adapter,
      kv: {
        pageSize: this.backend.pageSize,
        pageCount: this.backend.pageCount,
        pageBytes: this.backend.pageBytes,
      },
    };
  }

  async stats(): Promise<EngineStats> {
    return {
      ...this.counters,
      responseCacheMisses: this.responses?.stats().misses ?? 0,
      queueDepth: this.scheduler.queueDepth,
      running: this.scheduler.running,
      prefixCachePages: this.prefix.pages,
    };
  }

  /** Drops every cached prefix (pages in use stay until their requests end). */
  clearPrefixCache(): void {
    this.prefix.clear();
  }

  async unload(): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    await this.scheduler.idle();
    this.backend.dispose();
  }
}
