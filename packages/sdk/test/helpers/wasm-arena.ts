// Fresh wasm memories with the CPU kernels, and seeded random data, for the kernel tests.

import { WasmHeap } from '../../src/backends/cpu/wasm/heap.js';
import { type CpuKernels, instantiateKernels } from '../../src/backends/cpu/wasm/kernels.js';

/** float32 unit roundoff */
export const U = 2 ** -24;

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomF32(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** A fresh memory per case: kernels get exactly the buffers a test gives them. */
export class Arena {
  readonly heap = new WasmHeap();
  k!: CpuKernels;
  static async create(): Promise<Arena> {
    const a = new Arena();
    a.k = await instantiateKernels(a.heap.memory);
    return a;
  }
  put(data: Float32Array | Int8Array | Uint8Array): number {
    return this.heap.store(data);
  }
  f32(at: number, n: number): Float32Array {
    return this.heap.f32(at, n);
  }
}
