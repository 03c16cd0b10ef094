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
  /**
   * The KV cache's precision. 'f16' (default) is llama.cpp's: q, K and V rounded to f16 and
   * attention run as its CPU flash attention (an f16 accumulator of the values), so greedy
   * tokens follow llama.cpp's at near-ties. 'f32' keeps them exact (float softmax), which the
   * tests against the float reference use. Either way a slot takes 4 bytes (float32).
   */
  kvCache?: 'f16' | 'f32';
}

/** The CPU backend; `kernels` tells which implementation runs. */
export type CpuBackend = WasmCpuBackend;

/**
 * Loads a model into the CPU backend, what 'auto' runs when there is no WebGPU adapter. The
 * weights stay in their file's types (F32, F16, BF16, Q4_0 … Q8_0, Q2_K … Q6_K, IQ4_NL, IQ4_XS)
 * in one wasm memory, copied tensor by tensor from the source, so the heap is the file's size
 * plus the KV pages (2 · layers · kvDim · 4 bytes a position: float32 slots, holding f16 values by
 * default, as llama.cpp's cache) plus a few MB of scratch. Matmuls multiply activations the way
 * llama.cpp's CPU backend does (int8 Q8_0/Q8_K, f16/bf16 for float weights).
 *
 * wasm32 addresses stop at 4 GiB, and everything lives in that one memory: a 3B model in Q4_K_M
 * (~2 GB) fits with thousands of positions of KV, a 7B one only at Q3_K_S or below with a short
 * context, past that OUT_OF_MEMORY. Memory64 (Chrome 133+, Firefox 134+) would lift the ceiling
 * to 16 GiB; the kernels would need 64-bit pointers (a variant of the generated module).
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
