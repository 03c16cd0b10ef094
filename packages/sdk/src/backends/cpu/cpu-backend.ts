import { isEdgeLMError } from '../../errors.js';
import type { ModelFile } from '../../model/model-file.js';
import { JsCpuBackend } from './js-backend.js';
import { wasmKernelsSupported } from './wasm/kernels.js';
import { WasmCpuBackend } from './wasm-backend.js';

/** Options of {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /** Tokens per KV page (default 16). */
  pageSize?: number;
  /** Physical KV pages (default: enough for 4 full-context sequences). */
  pageCount?: number;
  onProgress?: (tensors: number, totalTensors: number) => void;
  /**
   * Which kernels run: 'wasm' (WebAssembly SIMD), 'js' (plain loops, the fallback), or 'auto'
   * (default): wasm where the engine validates the module, else js.
   */
  kernels?: 'auto' | 'wasm' | 'js';
}

/** Either implementation of the CPU backend; `kernels` tells which. */
export type CpuBackend = JsCpuBackend | WasmCpuBackend;

/**
 * Loads a model into the CPU backend, what 'auto' runs when there is no WebGPU adapter.
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
  const kernels = options.kernels ?? 'auto';
  if (kernels === 'js' || (kernels === 'auto' && !wasmKernelsSupported()))
    return JsCpuBackend.create(model, options);
  try {
    return await WasmCpuBackend.create(model, options);
  } catch (e) {
    // wasm32 stops at 4 GiB; separate JS arrays can still hold a model past that.
    if (kernels === 'auto' && isEdgeLMError(e) && e.code === 'OUT_OF_MEMORY')
      return JsCpuBackend.create(model, options);
    throw e;
  }
}
