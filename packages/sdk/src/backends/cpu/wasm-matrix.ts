import type { CpuMatrix } from './matrix.js';
import type { WasmHeap } from './wasm/heap.js';
import { type ActivationKind, CPU_KERNEL_TYPES } from './wasm/kernel-types.js';
import type { CpuKernels, MatmulKernel } from './wasm/kernels.js';

/** A weight matrix in the heap, in its file's block layout, with the kernel that reads it. */
export interface WasmMatrix {
  type: CpuMatrix['type'];
  rows: number;
  cols: number;
  rowBytes: number;
  w: number; // heap offset
  act: ActivationKind; // what its kernel reads: float32, or activations quantized so
  kernel: MatmulKernel;
}

/** Where the weight loader puts each tensor: its bytes copied as they are into the heap. */
export const place = (heap: WasmHeap, k: CpuKernels) => ({
  matrix: (m: CpuMatrix): WasmMatrix => ({
    type: m.type,
    rows: m.rows,
    cols: m.cols,
    rowBytes: m.rowBytes,
    w: heap.store(m.bytes),
    act: CPU_KERNEL_TYPES[m.type],
    kernel: k[`matmul_${m.type}`],
  }),
  vector: (v: Float32Array): number => heap.store(v),
});
