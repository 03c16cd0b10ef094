import type { EngineInfo, LoadProgress } from '../api/types.js';
import type { Backend, BackendName } from '../backends/backend.js';
import { EdgeLMError, type EdgeLMErrorCode, isEdgeLMError } from '../errors.js';
import { openModel } from '../formats/open-model.js';
import { decideRoute } from '../remote/index.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { modelDigest } from './load/model-digest.js';
import { type ModelInput, type ResolveOptions, resolveInput } from './load/model-input.js';
import { isOnnxInput, loadOnnxEngineParts } from './load/onnx-input.js';
import { describeDevice, type KvOptions, selectBackend } from './load/select-backend.js';
import { LocalEngine, type LocalEngineOptions } from './local-engine.js';
import { RemoteEngine } from './remote-engine.js';

/** Options of {@link createLocalEngine}: what to load, on what, and how the engine behaves. */
export interface LocalEngineCreateOptions extends LocalEngineOptions, ResolveOptions {
  /** The model file: GGUF or a llama2.c checkpoint. */
  model: ModelInput;
  /** The tokenizer file, for llama2.c checkpoints. */
  tokenizer?: ModelInput;
  /** Default 'auto': WebGPU when there is an adapter, else CPU. */
  backend?: BackendName | 'auto';
  /** A device to run on (Dawn in Node, or one the app already has). */
  device?: GPUDevice;
  kv?: KvOptions;
  onProgress?: (p: LoadProgress) => void;
}

/**
 * Loads a model in this thread, step by step: resolve the input (through the weight cache for
 * URLs) → open and parse headers → build the backend (upload, compile) → engine.
 *
 * @example
 * ```ts
 * const engine = await createLocalEngine({ model: bytes, tokenizer: tokBytes, backend: 'cpu' });
 * ```
 */
/** The device a WebGPU backend runs on, described for `info()`. */
function deviceOf(backend: Backend): EngineInfo['adapter'] {
  const device = (backend as Backend & { device?: GPUDevice }).device;
  return backend.name === 'webgpu' && device ? describeDevice(device) : undefined;
}

const NO_LOCAL = new Set<EdgeLMErrorCode>(['NO_BACKEND', 'OUT_OF_MEMORY', 'GPU_ERROR', 'DEVICE_LOST']);

export async function createLocalEngine(
  options: LocalEngineCreateOptions,
): Promise<LocalEngine | RemoteEngine> {
  // ONNX exports run on onnxruntime-web ('auto' has nothing else that runs them).
  if (options.backend === 'onnx' || ((options.backend ?? 'auto') === 'auto' && isOnnxInput(options.model))) {
    if (!isOnnxInput(options.model)) {
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        "The 'onnx' backend takes the URL of an export-onnx directory",
      );
    }
    const maxBatch = Math.max(1, options.maxBatch ?? 16);
    const { model, backend, bytes } = await loadOnnxEngineParts(options.model, {
      fetch: options.fetch,
      maxLiveSequences: maxBatch,
    });
    options.onProgress?.({ phase: 'ready' });
    return new LocalEngine(model, backend, { ...options, modelBytes: options.modelBytes ?? bytes });
  }
  const source = await resolveInput(options.model, options);
  const tokenizer =
    options.tokenizer === undefined
      ? undefined
      : await resolveInput(options.tokenizer, { ...options, onProgress: undefined });
  const model = await openModel(source, { tokenizer });
  const maxBatch = Math.max(1, options.maxBatch ?? 16);
  let backend: Backend;
  try {
    backend = await selectBackend(model, {
      backend: options.backend ?? 'auto',
      device: options.device,
      kv: options.kv ?? {},
      maxBatch,
      onProgress: options.onProgress,
    });
  } catch (e) {
    // Nothing here can run the model: the policy may still let every request go remote.
    const problem = isEdgeLMError(e) && NO_LOCAL.has(e.code) ? e : undefined;
    const d =
      problem &&
      decideRoute({
        fallback: options.fallback,
        promptTokens: 0,
        maxTokens: 0,
        local: { backendAvailable: false },
      });
    if (!problem || !d || d.target !== 'remote' || !options.fallback) throw e;
    options.onProgress?.({ phase: 'ready' });
    return new RemoteEngine(options.fallback, `no local backend (${problem.code}: ${problem.message})`, {
      tokenizer: new Tokenizer(model.tokenizer),
      config: model.config,
      name: source.name.split('/').pop() ?? 'model',
    });
  }
  options.onProgress?.({ phase: 'ready' });
  return new LocalEngine(model, backend, {
    ...options,
    modelName: options.modelName ?? source.name.split('/').pop(),
    modelBytes: options.modelBytes ?? source.size,
    modelId: options.modelId ?? (await modelDigest(source)),
    adapter: options.adapter ?? deviceOf(backend),
  });
}
