/**
 * The weight types the wasm kernels run, each in ggml's own block layout (the file's bytes are
 * copied into the heap as they are), with the activations each one's dot reads: llama.cpp's
 * `vec_dot_type` of the weight type (gen/activations.ts): float32 for F32, float32 rounded to
 * f16 / bf16 for F16 / BF16, Q8_0 (and Q8_1, the same values) for the 32-blocks, Q8_K for the
 * 256-blocks. Each has an export `matmul_<name>`.
 */
export const CPU_KERNEL_TYPES = {
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  Q4_0: 'q8_0',
  Q4_1: 'q8_0',
  Q5_0: 'q8_0',
  Q5_1: 'q8_0',
  Q8_0: 'q8_0',
  IQ4_NL: 'q8_0',
  Q2_K: 'q8_K',
  Q3_K: 'q8_K',
  Q4_K: 'q8_K',
  Q5_K: 'q8_K',
  Q6_K: 'q8_K',
  IQ4_XS: 'q8_K',
} as const satisfies Record<string, ActivationKind>;

/**
 * How a matmul's activations are given: float32 (f32; f16, bf16 rounded so by `round_<kind>`),
 * or quantized by `quantize_<kind>` into int16 lanes, scales and sums.
 */
export type ActivationKind = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q8_K';

/** Whether the kind's matmul reads quantized activations (xq, xd, xs) rather than floats. */
export const isQuantizedActivation = (a: ActivationKind): a is 'q8_0' | 'q8_K' =>
  a === 'q8_0' || a === 'q8_K';

export type CpuKernelType = keyof typeof CPU_KERNEL_TYPES;

export function isCpuKernelType(name: string): name is CpuKernelType {
  return Object.hasOwn(CPU_KERNEL_TYPES, name);
}
