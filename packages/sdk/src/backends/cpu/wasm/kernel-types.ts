/**
 * The weight types the wasm kernels run, each in ggml's own block layout (the file's bytes are
 * copied into the heap as they are), with the activations each one's dot reads: float32 for
 * the float types (llama.cpp rounds them to F16/BF16 first; we keep float32), blocks of 32
 * integers with a scale for the quantized types, as llama.cpp's Q8_0/Q8_K (`vec_dot_type`) but
 * in int16 (see gen/module.ts). Each has an export `matmul_<name>`.
 */
export const CPU_KERNEL_TYPES = {
  F32: 'f32',
  F16: 'f32',
  BF16: 'f32',
  Q4_0: 'q16',
  Q4_1: 'q16',
  Q5_0: 'q16',
  Q5_1: 'q16',
  Q8_0: 'q16',
  IQ4_NL: 'q16',
  Q2_K: 'q16',
  Q3_K: 'q16',
  Q4_K: 'q16',
  Q5_K: 'q16',
  Q6_K: 'q16',
  IQ4_XS: 'q16',
} as const satisfies Record<string, ActivationKind>;

/** How a matmul's activations are given: float32, or quantized by `quantize_q16`. */
export type ActivationKind = 'f32' | 'q16';

export type CpuKernelType = keyof typeof CPU_KERNEL_TYPES;

export function isCpuKernelType(name: string): name is CpuKernelType {
  return Object.hasOwn(CPU_KERNEL_TYPES, name);
}
