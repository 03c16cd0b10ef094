import type { BackendName } from '../backends/backend.js';
import type { EdgeLMErrorCode } from '../errors.js';
import type { GrammarSpec } from '../grammar/grammar-spec.js';
import type { JsonSchema } from '../grammar/json-schema.js';
import type { ChatTool, ChatToolCall, ToolChoice } from '../grammar/tool-calls.js';
import type { ModelConfig } from '../model/config.js';
import type { SamplingParams } from '../sampler/params.js';

/** Options of one generation request. */
export interface GenerateOptions extends SamplingParams {
  /** Most tokens to generate (default 256). */
  maxTokens?: number;
  /** Strings that end generation; the stop string itself is not returned. */
  stop?: string[];
  /** Aborting stops within one decode step; the engine stays usable. */
  signal?: AbortSignal;
  /** Response cache: `undefined` caches deterministic requests only, `true` forces, `false` skips. */
  cache?: boolean;
  /** Overrides the fallback policy for this request. */
  route?: 'auto' | 'local' | 'remote';
  /**
   * Constrains the output to a grammar: GBNF text, or a spec (`regex`, `json_schema`, `json`).
   * Every token is sampled from those the grammar allows, so the text always matches (and the
   * grammar closes itself as `maxTokens` runs out).
   */
  grammar?: string | GrammarSpec;
  /** Constrains the output to JSON that validates against this schema (shorthand for `grammar`). */
  jsonSchema?: JsonSchema;
}

/** One streamed piece of output. */
export interface GenerateChunk {
  /** Text that became final with this token (may be empty while a UTF-8 character is incomplete). */
  text: string;
  token: number;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface Timings {
  /** Time to first token, from the call. */
  ttftMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  totalMs: number;
}

/** The end of a generation. */
export interface GenerateResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
  /** Prompt tokens whose KV came from the prefix cache instead of being computed. */
  prefixTokensReused: number;
  /** True when the answer was replayed from the response cache. */
  cached: boolean;
  servedBy: 'local' | 'remote';
  /** Why the request went where it went ("prompt exceeds local context of 512 tokens"). */
  routeReason: string;
  /**
   * Calls a remote server answered with (OpenAI `tool_calls`). Local engines parse calls from the
   * text in `chat.completions` instead, so this is only set on remote results.
   */
  toolCalls?: ChatToolCall[];
}

/** A generation in flight: iterate for chunks, await `result` for the summary. */
export interface GenerateStream extends AsyncIterable<GenerateChunk> {
  readonly result: Promise<GenerateResult>;
}

/** What the engine runs on. */
export interface EngineInfo {
  backend: BackendName | 'remote';
  model: { name: string; format: 'gguf' | 'llama2c' | 'onnx'; config: ModelConfig; bytes: number };
  adapter?: {
    vendor: string;
    architecture: string;
    description: string;
    features: string[];
    limits: Record<string, number>;
  };
  kv: { pageSize: number; pageCount: number; pageBytes: number };
}

/** Progress while an engine loads. */
export type LoadProgress =
  | { phase: 'download'; loaded: number; total: number; cached?: boolean }
  | { phase: 'upload'; tensors: number; totalTensors: number; bytes: number }
  | { phase: 'compile'; pipelines: number }
  | { phase: 'ready' };

/** Per-request metrics handed to observers (demo panels, Prometheus). */
export interface RequestMetrics {
  id: string;
  servedBy: 'local' | 'remote';
  cached: boolean;
  promptTokens: number;
  completionTokens: number;
  prefixTokensReused: number;
  ttftMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  finishReason: FinishReason | 'error';
  errorCode?: EdgeLMErrorCode;
}

// ---- OpenAI-shaped chat types (a subset of the official shapes, same field names) ----

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** `null` only on an assistant message that made tool calls. */
  content: string | null;
  /** The calls an assistant message made (fed back with the `tool` messages answering them). */
  tool_calls?: ChatToolCall[];
  /** On a `tool` message: the call it answers. */
  tool_call_id?: string;
  name?: string;
}

export type { ChatTool, ChatToolCall, GrammarSpec, JsonSchema, ToolChoice };

/** OpenAI's `response_format`: free text, any JSON object, or JSON valid under a schema. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: { name: string; description?: string; schema?: JsonSchema; strict?: boolean | null };
    };

export interface ChatCompletionRequest {
  messages: ChatMessage[];
  model?: string;
  stream?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  seed?: number;
  stop?: string | string[];
  /** edgelm extension: response-cache opt-in/out. */
  cache?: boolean;
  signal?: AbortSignal;
  /** Constrains the answer to JSON (any object, or valid under a schema). */
  response_format?: ResponseFormat;
  /** Functions the model may call; rendered through the chat template's `tools` variable. */
  tools?: ChatTool[];
  /** 'required' or a named function constrain the output to a call (it always parses). */
  tool_choice?: ToolChoice;
}

export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type ChatFinishReason = 'stop' | 'length' | 'abort' | 'tool_calls';

/** A streamed piece of a tool call (OpenAI's `delta.tool_calls[i]`). */
export interface ChatToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments?: string };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] };
    finish_reason: ChatFinishReason;
  }[];
  usage: ChatCompletionUsage;
  /** edgelm extension: the local result summary. */
  edgelm?: Omit<GenerateResult, 'text' | 'tokens'>;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { role?: 'assistant'; content?: string; tool_calls?: ChatToolCallDelta[] };
    finish_reason: ChatFinishReason | null;
  }[];
  usage?: ChatCompletionUsage;
  edgelm?: Omit<GenerateResult, 'text' | 'tokens'>;
}
