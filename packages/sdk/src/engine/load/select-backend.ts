import type { EngineInfo, LoadProgress } from '../../api/types.js';
import type { Backend, BackendName } from '../../backends/backend.js';
import { createCpuBackend } from '../../backends/cpu/cpu-backend.js';
import { requestEngineDevice } from '../../backends/webgpu/request-device.js';
import { EdgeLMError, isEdgeLMError } from '../../errors.js';
import type { ModelFile } from '../../model/model-file.js';

/** How the KV cache is sized. */
export interface KvOptions {
  /** Tokens per page (default 16). */
  pageSize?: number;
  /** Bytes of KV pages to allocate (default: room for `maxBatch` full contexts, at most 256 MiB). */
  maxBytes?: number;
}

export interface BackendRequest {
  backend: BackendName | 'auto';
  device?: GPUDevice;
  kv: KvOptions;
  maxBatch: number;
  onProgress?: (p: LoadProgress) => void;
}

/** Pages for `maxBatch` full-context sequences, within the byte budget but never under two contexts. */
export function kvPages(
  model: ModelFile,
  kv: KvOptions,
  maxBatch: number,
): { pageSize: number; pageCount: number } {
  const c = model.config;
  const pageSize = kv.pageSize ?? 16;
  const pageBytes = c.nLayers * pageSize * c.nKvHeads * c.headDim * 4 * 2;
  const perSequence = Math.ceil(c.contextLength / pageSize);
  const budget = Math.floor((kv.maxBytes ?? 256 * 1024 * 1024) / pageBytes);
  const pageCount = Math.max(2 * perSequence, Math.min(budget, (maxBatch + 1) * perSequence));
  return { pageSize, pageCount };
}

async function gpuDevice(given?: GPUDevice): Promise<GPUDevice | null> {
  if (given) return given;
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return null;
  return requestEngineDevice(adapter);
}

/** What `engine.info()` reports of the device: vendor, architecture, features, key limits. */
export function describeDevice(device: GPUDevice): NonNullable<EngineInfo['adapter']> {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const l = device.limits;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    description: info?.description ?? '',
    features: [...device.features].sort(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

async function webgpu(model: ModelFile, req: BackendRequest, device: GPUDevice): Promise<Backend> {
  const { createWebGpuBackend } = await import('../../backends/webgpu/index.js');
  return createWebGpuBackend(model, {
    device,
    ...kvPages(model, req.kv, req.maxBatch),
    onProgress: req.onProgress,
  });
}

/**
 * Builds the backend a request names. 'auto' takes WebGPU (our kernels) when an adapter is
 * there and falls back to the CPU backend when there is none or the GPU cannot hold the model.
 */
export async function selectBackend(model: ModelFile, req: BackendRequest): Promise<Backend> {
  const cpu = () =>
    createCpuBackend(model, {
      ...kvPages(model, req.kv, req.maxBatch),
      onProgress: (tensors, totalTensors) =>
        req.onProgress?.({ phase: 'upload', tensors, totalTensors, bytes: 0 }),
    });
  switch (req.backend) {
    case 'cpu':
      return cpu();
    case 'webgpu': {
      const device = await gpuDevice(req.device);
      if (!device) throw new EdgeLMError('NO_BACKEND', 'WebGPU is not available here (no adapter)');
      return webgpu(model, req, device);
    }
    case 'onnx':
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        "The 'onnx' backend runs ONNX exports (an export-onnx directory URL)",
      );
    case 'auto': {
      const device = await gpuDevice(req.device).catch(() => null);
      if (device) {
        try {
          return await webgpu(model, req, device);
        } catch (e) {
          // A GPU that cannot hold the model is not a reason to fail: the CPU path can.
          if (
            !isEdgeLMError(e) ||
            (e.code !== 'OUT_OF_MEMORY' && e.code !== 'GPU_ERROR' && e.code !== 'UNSUPPORTED_TYPE')
          )
            throw e;
        }
      }
      return cpu();
    }
  }
}
