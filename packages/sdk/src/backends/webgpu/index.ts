import { EdgeLMError } from '../../errors.js';
import type { ModelFile } from '../../model/model-file.js';
import { requestEngineDevice } from './request-device.js';
import { type StepStats, WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';

export type { StepStats, WebGpuBackendOptions };
export { WebGpuBackend };

/**
 * Creates the WebGPU backend on `opts.device`, or on a device from `navigator.gpu`. Weights
 * stream in tensor by tensor; every pipeline is compiled before this resolves.
 *
 * @example
 * ```ts
 * const backend = await createWebGpuBackend(model, { onProgress: (p) => console.log(p) });
 * const [logits] = await backend.forward([{ tokens: [1], startPos: 0, pages: Int32Array.of(0) }]);
 * ```
 */
export async function createWebGpuBackend(
  model: ModelFile,
  opts: WebGpuBackendOptions = {},
): Promise<WebGpuBackend> {
  const device = opts.device ?? (await defaultDevice());
  return WebGpuBackend.create(model, device, opts);
}

async function defaultDevice(): Promise<GPUDevice> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) throw new EdgeLMError('NO_BACKEND', 'WebGPU is not available here (no adapter)');
  return requestEngineDevice(adapter);
}
