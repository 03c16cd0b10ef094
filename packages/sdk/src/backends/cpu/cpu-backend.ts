import type { ModelFile } from '../../model/model-file.js';
import { WasmCpuBackend } from './wasm-backend.js';

/** Options of {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /** Tokens per KV page (default 16). */
  pageSize?: number;
  /** Physical KV pages (default: enough for 4 full-context sequences). */
  pageCount?: number;
  onProgress?: (tensors: number, totalTensors: number) => void;
  /**
   * Which kernels run. Only 'wasm' (WebAssembly SIMD) remains; 'auto' (default) means it. An
   * engine without SIMD (every current browser has it) gets NO_BACKEND.
   */
  kernels?: 'auto' | 'wasm';
}

/** The CPU backend; `kernels` tells which implementation runs. */
export type CpuBackend = WasmCpuBackend;

/**
 * Loads a model into the CPU backend, what 'auto' runs when there is no WebGPU adapter. The
 * weights stay in their file's types (F32 … Q2_K, IQ4_XS) in one wasm memory; a model past
 * wasm32's 4 GiB (weights + KV pages + scratch) fails with OUT_OF_MEMORY.
 *
 * @example
 * ```ts
 * const backend = await createCpuBackend(model, { pageSize: 16, pageCount: 64 });
 * const [logits] = await backend.forward([{ tokens: [1, 2, 3], startPos: 0, pages: Int32Array.of(0) }]);
 * ```
 */
export async function createCpuBackend(
  model: ModelFile,
  options: CpuBackendOptions = {},
): Promise<CpuBackend> {
  return WasmCpuBackend.create(model, options);
}
