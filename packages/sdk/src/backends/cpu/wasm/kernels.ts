import { EdgeLMError } from '../../../errors.js';
import { KERNELS_WASM_BASE64 } from './kernels.wasm.js';

/**
 * The exports of kernels.wat. Pointers are byte offsets into the heap's memory, counts are
 * elements; see the .wat for each kernel's contract.
 */
export interface CpuKernels {
  matvec_f32(out: number, w: number, x: number, rows: number, cols: number, acc: number): void;
  matvec_q8(
    out: number,
    wq: number,
    wd: number,
    rows: number,
    cols: number,
    xq: number,
    xd: number,
    acc: number,
  ): void;
  quantize_q16(x: number, n: number, xq: number, xd: number): void;
  dequant_q8(out: number, q: number, d: number, nb: number): void;
  rmsnorm(out: number, x: number, w: number, n: number, eps: number): void;
  add(x: number, y: number, n: number): void;
  swiglu(h: number, g: number, n: number): void;
  rope(vec: number, nHeads: number, headDim: number, cs: number, neox: number): void;
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
}

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
