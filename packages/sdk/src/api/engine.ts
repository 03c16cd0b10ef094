import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EngineInfo,
  GenerateOptions,
  GenerateStream,
} from './types.js';

/** Counters over the engine's life. */
export interface EngineStats {
  requests: number;
  completed: number;
  aborted: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  prefixTokensReused: number;
  responseCacheHits: number;
  responseCacheMisses: number;
  remoteRequests: number;
  queueDepth: number;
  running: number;
  prefixCachePages: number;
}

/** Counters of an engine that has served nothing yet. */
export function emptyStats(): EngineStats {
  return {
    requests: 0,
    completed: 0,
    aborted: 0,
    failed: 0,
    promptTokens: 0,
    completionTokens: 0,
    prefixTokensReused: 0,
    responseCacheHits: 0,
    responseCacheMisses: 0,
    remoteRequests: 0,
    queueDepth: 0,
    running: 0,
    prefixCachePages: 0,
  };
}

/** OpenAI-shaped chat completions. */
export interface ChatCompletions {
  create(request: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: ChatCompletionRequest & { stream?: false }): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

/**
 * The one interface of edgelm, whether the model runs in this thread, in a Web Worker or on a
 * remote server.
 *
 * @example
 * ```ts
 * const engine = await createEngine({ model: 'https://example.com/stories260K.bin', tokenizer: '…/tok512.bin' });
 * for await (const chunk of engine.generate('Once upon a time', { maxTokens: 64 })) out.textContent += chunk.text;
 * ```
 */
export interface Engine {
  /** Streams a completion of a prompt (text, or token ids). */
  generate(prompt: string | readonly number[], options?: GenerateOptions): GenerateStream;
  readonly chat: { readonly completions: ChatCompletions };
  info(): Promise<EngineInfo>;
  stats(): Promise<EngineStats>;
  /** Token ids of a text, as the model's tokenizer makes them (with BOS when the model wants it). */
  tokenize(text: string): Promise<number[]>;
  /** Frees the model and its device memory; the engine cannot generate afterwards. */
  unload(): Promise<void>;
}
