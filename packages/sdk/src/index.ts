/// <reference types="@webgpu/types" preserve="true" />
// @edgelm/sdk — run quantized language models on the user's GPU, in a worker, with caches and
// remote fallback. This entry is what an app uses; the parts behind it have subpath entries that
// mirror the source folders: /engine, /backends, /formats, /tokenizer, /cache, /remote, /synth,
// /reference, /node and /worker (the engine's worker script).

export type { ChatCompletions, Engine, EngineStats } from './api/engine.js';
// OpenAI's chat shapes
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatFinishReason,
  ChatMessage,
  ChatTool,
  ChatToolCall,
  EngineInfo,
  FinishReason,
  GenerateChunk,
  GenerateOptions,
  GenerateResult,
  GenerateStream,
  GrammarSpec,
  JsonSchema,
  LoadProgress,
  RequestMetrics,
} from './api/types.js';
export type { BackendName } from './backends/backend.js';
export type { OrtRuntimeOptions } from './backends/onnx/ort-runtime.js';
// the weight cache: offline downloads, listing, eviction
export type { CachedModelInfo, CacheProgress, CacheUsage } from './cache/index.js';
export {
  cacheUsage,
  deleteCachedModel,
  listCachedModels,
  persistCache,
  prefetchModel,
} from './cache/index.js';
// the engine
export { createEngine, type EngineOptions } from './engine/create-engine.js';
export type { ModelInput } from './engine/load/model-input.js';
// errors
export { EdgeLMError, type EdgeLMErrorCode, isEdgeLMError } from './errors.js';
export type { FallbackPolicy } from './remote/policy.js';
// requests and results
export type { SamplingParams } from './sampler/params.js';
