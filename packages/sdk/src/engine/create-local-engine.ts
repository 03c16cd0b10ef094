import type { EngineInfo, LoadProgress } from '../api/types.js';
import type { Backend, BackendName } from '../backends/backend.js';
import type { OnnxBackendOptions } from '../backends/onnx/onnx-backend.js';
import { EdgeLMError, isEdgeLMError } from '../errors.js';
import { openModel } from '../formats/open-model.js';
import type { ModelFile } from '../model/model-file.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { modelDigest } from './load/model-digest.js';
import { type ModelInput, type ResolveOptions, resolveInput } from './load/model-input.js';
import { isOnnxInput, loadOnnxEngineParts } from './load/onnx-input.js';
import { defaultModelBudget, modelTooLargeRoute, noLocalBackendRoute } from './load/remote-route.js';
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
  /** onnxruntime-web settings for the `'onnx'` backend: where its wasm is served, threads, providers. */
  onnx?: Omit<OnnxBackendOptions, 'maxLiveSequences'>;
  /**
   * Most bytes of weights this device should load. A larger model is not loaded: with
   * `fallback` (`privacy: 'allow-remote'`, `when.modelTooLarge` not false) every request goes to
   * the server, otherwise loading fails with OUT_OF_MEMORY. Default: the RAM the browser reports
   * (`navigator.deviceMemory`), where it does (then a model over it only goes remote, never fails).
   */
  maxModelBytes?: number;
  onProgress?: (p: LoadProgress) => void;
}

/** The device a WebGPU backend runs on, described for `info()`. */
function deviceOf(backend: Backend): EngineInfo['adapter'] {
  const device = (backend as Backend & { device?: GPUDevice }).device;
  return backend.name === 'webgpu' && device ? describeDevice(device) : undefined;
}

const NO_LOCAL = new Set(['NO_BACKEND', 'OUT_OF_MEMORY', 'GPU_ERROR', 'DEVICE_LOST'] as const);
type NoLocalCode = typeof NO_LOCAL extends Set<infer C> ? C : never;
const isNoLocal = (code: string): code is NoLocalCode => NO_LOCAL.has(code as NoLocalCode);

/** Weight bytes of a model as stored (what has to be uploaded). */
function weightBytes(model: ModelFile): number {
  return model.tensors.reduce((n, t) => n + t.byteLength, 0);
}

/**
 * Loads a model in this thread, step by step: resolve the input (through the weight cache for
 * URLs) → open and parse headers → build the backend (upload, compile) → engine. A model the device
 * cannot hold or run becomes a {@link RemoteEngine} when the fallback policy allows it.
 *
 * @example
 * ```ts
 * const engine = await createLocalEngine({ model: bytes, tokenizer: tokBytes, backend: 'cpu' });
 * ```
 */
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
      ...options.onnx,
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
  const name = options.modelName ?? source.name.split('/').pop() ?? 'model';
  const remote = (reason: string): RemoteEngine => {
    options.onProgress?.({ phase: 'ready' });
    const local = { tokenizer: new Tokenizer(model.tokenizer), config: model.config, name };
    return new RemoteEngine(options.fallback!, reason, {
      ...local,
      format: model.format,
      bytes: source.size,
    });
  };
  const bytes = weightBytes(model);
  const tooLarge = modelTooLargeRoute(options.fallback, bytes, options.maxModelBytes ?? defaultModelBudget());
  if (tooLarge) return remote(tooLarge);
  if (options.maxModelBytes !== undefined && bytes > options.maxModelBytes)
    throw new EdgeLMError(
      'OUT_OF_MEMORY',
      `The model's ${bytes} bytes of weights exceed maxModelBytes (${options.maxModelBytes})`,
      { bytes, maxModelBytes: options.maxModelBytes },
    );
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
    const reason =
      isEdgeLMError(e) && isNoLocal(e.code)
        ? noLocalBackendRoute(options.fallback, e.code, e.message)
        : undefined;
    if (!reason) throw e;
    return remote(reason);
  }
  options.onProgress?.({ phase: 'ready' });
  return new LocalEngine(model, backend, {
    ...options,
    modelName: name,
    modelBytes: options.modelBytes ?? source.size,
    modelId: options.modelId ?? (await modelDigest(source)),
    adapter: options.adapter ?? deviceOf(backend),
  });
}
