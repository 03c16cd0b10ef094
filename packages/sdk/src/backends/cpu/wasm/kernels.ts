import { EdgeLMError } from '../../../errors.js';
import type { CpuKernelType } from './kernel-types.js';
import { KERNELS_WASM_BASE64 } from './kernels.wasm.js';

/**
 * out[t, r] (+)= Σ_c W[r, c]·x[t, c] over ntok tokens, W rows×cols in its ggml block layout at
 * w. Float types read x as float32 (xd, xs unused; F16/BF16 weights want x rounded by
 * `round_f16`/`round_bf16`); quantized types read x, xd, xs as `quantize_q8_0`/`quantize_q8_K`
 * left them for ntok·cols values (see kernel-types.ts for which). out is (ntok, rows); acc ≠ 0 adds to it.
 */
export type MatmulKernel = (
  out: number,
  w: number,
  rows: number,
  cols: number,
  x: number,
  xd: number,
  xs: number,
  ntok: number,
  acc: number,
) => void;

/**
 * The exports of kernels.wat (and its generated part, gen/). Pointers are byte offsets into the
 * heap's memory, counts are elements; see the .wat for each kernel's contract.
 */
export type CpuKernels = { [T in CpuKernelType as `matmul_${T}`]: MatmulKernel } & {
  /**
   * llama.cpp's Q8_0/Q8_1 of n floats (a multiple of 32): q in int16 lanes (xq), f16-rounded
   * d per 32 (xd), f16-rounded d·Σq per 32 then 0 (xs, two per 32).
   */
  quantize_q8_0(x: number, n: number, xq: number, xd: number, xs: number): void;
  /** llama.cpp's Q8_K of n floats (a multiple of 256): q (xq), d in each 32's xd, d·bsum per 16 (xs). */
  quantize_q8_K(x: number, n: number, xq: number, xd: number, xs: number): void;
  /** n floats rounded to nearest-even f16 / bf16 into out (out may be x). */
  round_f16(x: number, n: number, out: number): void;
  round_bf16(x: number, n: number, out: number): void;
  rmsnorm(out: number, x: number, w: number, n: number, eps: number): void;
  add(x: number, y: number, n: number): void;
  swiglu(h: number, g: number, n: number): void;
  rope(vec: number, nHeads: number, headDim: number, cs: number, neox: number): void;
  /** `attention` as llama.cpp's CPU flash attention over an f16 cache (gen/attention-f16.ts). */
  attention_f16(
    out: number,
    q: number,
    kbase: number,
    vbase: number,
    pages: number,
    pageSize: number,
    kvDim: number,
    nHeads: number,
    headDim: number,
    kvMul: number,
    npos: number,
    scale: number,
  ): void;
  attention(
    out: number,
    q: number,
    kbase: number,
    vbase: number,
    pages: number,
    pageSize: number,
    kvDim: number,
    nHeads: number,
    headDim: number,
    kvMul: number,
    npos: number,
    att: number,
    scale: number,
  ): void;
};

let bytes: Uint8Array<ArrayBuffer> | undefined;
let compiled: Promise<WebAssembly.Module> | undefined;

function kernelBytes(): Uint8Array<ArrayBuffer> {
  if (!bytes) {
    const bin = atob(KERNELS_WASM_BASE64);
    bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  }
  return bytes;
}

/**
 * Whether this engine runs the kernels: WebAssembly with 128-bit SIMD and bulk memory. The
 * module itself is what gets validated, so any instruction it uses that the engine lacks
 * answers false (and the CPU backend runs its plain-JS loops instead).
 */
export function wasmKernelsSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(kernelBytes());
  } catch {
    return false;
  }
}

/** Instantiates the kernels over `memory`; the compiled module is shared by every instance. */
export async function instantiateKernels(memory: WebAssembly.Memory): Promise<CpuKernels> {
  if (!wasmKernelsSupported())
    throw new EdgeLMError('NO_BACKEND', 'WebAssembly SIMD is not available in this engine');
  compiled ??= WebAssembly.compile(kernelBytes());
  const instance = await WebAssembly.instantiate(await compiled, { env: { memory } });
  return instance.exports as unknown as CpuKernels;
}
