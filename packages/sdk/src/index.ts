// @edgelm/sdk — run quantized language models on the user's GPU, in a worker, with caches and remote fallback.

export type { ChatCompletions, Engine, EngineStats } from './api/engine.js';
export type * from './api/types.js';
// backends
export type { Backend, BackendName, SequenceStep } from './backends/backend.js';
export { createCpuBackend } from './backends/cpu/cpu-backend.js';
export {
  createOnnxBackend,
  loadOnnxModel,
  OnnxBackend,
  type OnnxBackendOptions,
  type OnnxModel,
} from './backends/onnx/index.js';
// caches and remote
export * from './cache/index.js';
export { createEngine, type EngineOptions } from './engine/create-engine.js';
export { createLocalEngine, type LocalEngineCreateOptions } from './engine/create-local-engine.js';
export type { ModelInput } from './engine/load/model-input.js';
export type { KvOptions } from './engine/load/select-backend.js';
export { LocalEngine, type LocalEngineOptions } from './engine/local-engine.js';
export { EdgeLMError, type EdgeLMErrorCode, isEdgeLMError } from './errors.js';
// models and formats
export { type ByteSource, blobSource, bytesSource, urlSource } from './formats/byte-source.js';
export { type ConvertType, convertToGguf } from './formats/convert.js';
export { GGMLType } from './formats/ggml-types.js';
export { openGguf } from './formats/gguf/model.js';
export { type GgufHeader, readGgufHeader } from './formats/gguf/reader.js';
export { type GgufValue, gguf } from './formats/gguf/values.js';
export { encodeGguf, type GgufSink, type GgufTensorInput, writeGguf } from './formats/gguf/writer.js';
export { type ExportOnnxOptions, exportOnnx, type OnnxExport } from './formats/onnx/export.js';
export { type OpenModelOptions, openModel } from './formats/open-model.js';
export { dequantize, quantize } from './formats/quant/index.js';
export type { ModelConfig } from './model/config.js';
export type { ModelFile, TensorInfo } from './model/model-file.js';
export { ReferenceModel } from './reference/forward.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  decideAfterLocalFailure,
  decideRoute,
  type FallbackPolicy,
  type LocalCapacity,
  type RemoteCallOptions,
  RemoteClient,
  type RemoteClientOptions,
  type RetryOptions,
  type RouteDecision,
  type RouteInput,
  type SseEvent,
  SseParser,
} from './remote/index.js';
export type { SamplingParams } from './sampler/params.js';
// synthetic models of real shapes (benchmarks in Node and in the browser)
export { SHAPES, type ShapeName } from './synth/shapes.js';
export { syntheticModel } from './synth/synthetic-model.js';
export { Tokenizer } from './tokenizer/tokenizer.js';
