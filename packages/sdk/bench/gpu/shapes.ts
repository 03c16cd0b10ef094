// The real-model shapes `pnpm bench:gpu` synthesizes, with the llama.cpp file types it writes
// them in. Context lengths are cut to what the benchmark uses (a 1,024-token prompt plus the
// decode run): the weights, and so the bytes read per token, are those of the real models.

import type { FileType } from '../../src/formats/type-mix.js';

export interface BenchShape {
  /** What the bench calls it (and the cache file's stem). */
  name: string;
  /** The real model this is the shape of. */
  like: string;
  /** GGUF `general.architecture`. */
  arch: 'llama' | 'qwen2';
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  tied: boolean;
  /** q/k/v biases (Qwen2). */
  qkvBias: boolean;
  ropeBase: number;
  /** Llama 3.x's rope_freqs.weight, computed for this original context. */
  llama3RopeContext?: number;
  contextLength: number;
}

export const BENCH_SHAPES: readonly BenchShape[] = [
  {
    name: 'stories110M',
    like: 'llama2.c stories110M',
    arch: 'llama',
    dim: 768,
    hidden: 2048,
    layers: 12,
    heads: 12,
    kvHeads: 12,
    vocab: 32000,
    tied: false,
    qkvBias: false,
    ropeBase: 10000,
    contextLength: 2048,
  },
  {
    name: 'qwen2.5-0.5b',
    like: 'Qwen2.5-0.5B',
    arch: 'qwen2',
    dim: 896,
    hidden: 4864,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    vocab: 151936,
    tied: true,
    qkvBias: true,
    ropeBase: 1e6,
    contextLength: 2048,
  },
  {
    name: 'llama3.2-1b',
    like: 'Llama-3.2-1B',
    arch: 'llama',
    dim: 2048,
    hidden: 8192,
    layers: 16,
    heads: 32,
    kvHeads: 8,
    vocab: 128256,
    tied: true,
    qkvBias: false,
    ropeBase: 5e5,
    llama3RopeContext: 8192,
    contextLength: 2048,
  },
];

export const BENCH_TYPES: readonly FileType[] = ['q4_k_m', 'q8_0'];

export function benchShape(name: string): BenchShape | undefined {
  return BENCH_SHAPES.find((s) => s.name === name);
}
