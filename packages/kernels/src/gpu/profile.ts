/**
 * Per-adapter kernel shapes. CPU-emulated adapters (SwiftShader, WARP, llvmpipe) run each
 * workgroup as a loop on one core and pay per dispatch and per workgroup, so they want few,
 * large workgroups with many rows each (and the fused one-dispatch-per-layer kernels); real
 * GPUs (NVIDIA, AMD, Intel, Apple, Qualcomm, ARM) want many small ones to fill their cores:
 * 32 invocations share each matrix row (coalesced loads across a warp/wave), reduced through
 * subgroups where the device has them, and integer-block weights dotted against int8-quantized
 * activations with `dot4I8Packed` where WGSL has it. See packages/kernels/README.md.
 */
import type { KvPrecision } from '../ops/rope-kv.js';

export interface KernelProfile {
  /** True on a CPU-emulated adapter. */
  cpuLike: boolean;
  subgroups: boolean;
  f16: boolean;
  /**
   * Integer-block weights (Q4_0 … Q6_K, IQ4) are dotted with `dot4I8Packed` against activations
   * quantized on the GPU to int8 blocks (llama.cpp's Q8_0/Q8_1 per 32 for the 32-element types,
   * Q8_K per 256 for the K types and IQ4_XS): WGSL's `packed_4x8_integer_dot_product`.
   */
  dp4a: boolean;
  /** The KV cache's precision; `f16` (default) is llama.cpp's arithmetic (see `KvPrecision`). */
  kv: KvPrecision;
  /**
   * Matrix inputs of block-quantized weights: `q8` (default) rounds them to llama.cpp's int8
   * blocks, through the dp4a kernels where `dp4a`, in place in the fused kernels of CPU-like
   * adapters (the general kernels there keep f32); `f32` keeps float inputs everywhere.
   */
  xq: 'q8' | 'f32';
  /** Matrix–vector: invocations per workgroup, invocations sharing one row, rows per invocation. */
  matvec: { wg: number; tpr: number; rpt: number };
  /** Matrix–matrix (prefill): the same, plus tokens per tile. */
  matmul: { wg: number; tpr: number; rpt: number; tt: number };
  /** Keys per attention split-K chunk. */
  attnChunk: number;
  attnWg: number;
  /**
   * Tiled flash-attention prefill (`flashPrefillProgram`): tokens per query tile, keys per K/V
   * tile, invocations; it runs for steps carrying at least `minTokens` tokens per sequence on
   * average (decode steps keep the split-K kernel). Null: the split-K kernel over a grid of queries.
   */
  flashPrefill: { tq: number; tk: number; wg: number; minTokens: number } | null;
  /** Invocations per workgroup of element-wise kernels. */
  elementWg: number;
  /**
   * One dispatch per decoder layer (`decoderLayerProgram`) and a classifier with fused
   * argmax, for steps of at most `maxTokens` tokens; null: the general kernels only.
   */
  fused: {
    wg: number;
    maxTokens: number;
    headRowsPerWg: number;
    rpt: number;
    /** Rows per invocation of a float classifier (up to 8; quantized ones use `rpt`). */
    headRpt?: number;
    /**
     * Layers with at least `minWeights` matrix elements run as four dispatches whose matrices
     * spread over `wgs` workgroups (`DecoderLayerVariant.part`); absent: always one dispatch.
     */
    split?: { minWeights: number; wgs: number };
  } | null;
}

export interface AdapterDescription {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export function isCpuAdapter(info: AdapterDescription): boolean {
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`.toLowerCase();
  return Boolean(info.isFallbackAdapter) || /swiftshader|llvmpipe|warp|software|lavapipe/.test(text);
}

/** The WGSL language feature that brings `dot4I8Packed` and `pack4xI8`. */
export const DP4A_FEATURE = 'packed_4x8_integer_dot_product';

/**
 * Shapes for a device; `features` is `device.features` (what was actually enabled), `wgsl`
 * is `navigator.gpu.wgslLanguageFeatures` (absent: no dp4a).
 *
 * @example
 * ```ts
 * const profile = kernelProfile(adapter.info, device.features, navigator.gpu.wgslLanguageFeatures);
 * if (profile.fused) ...; // a CPU-emulated adapter
 * ```
 */
export function kernelProfile(
  info: AdapterDescription,
  features: ReadonlySet<string>,
  wgsl: ReadonlySet<string> = new Set(),
): KernelProfile {
  const cpuLike = isCpuAdapter(info);
  const base = {
    cpuLike,
    subgroups: features.has('subgroups'),
    f16: features.has('shader-f16'),
    kv: 'f16' as const,
    xq: 'q8' as const,
  };
  if (cpuLike) {
    return {
      ...base,
      // An emulator's int8 dot is four multiplies, and quantizing the activations is one
      // dispatch more: on SwiftShader the f32-activation readers win.
      dp4a: false,
      matvec: { wg: 64, tpr: 1, rpt: 2 },
      matmul: { wg: 64, tpr: 1, rpt: 2, tt: 4 },
      // Small chunks: SwiftShader's cost per attention workgroup grows with its workgroup memory
      // (measured 10.5 ms per dispatch at 512 keys against 2.6 ms at 64 on stories260K).
      attnChunk: 64,
      attnWg: 64,
      // The emulator's per-workgroup cost is set by its workgroup memory, not by redundant loads.
      flashPrefill: null,
      elementWg: 256,
      // Few invocations (the emulator runs a barrier as a switch through every group of 4 lanes),
      // four rows each (one activation load serves four rows): on stories260K 8×4 decodes at
      // ~650 tok/s against ~500 for 8×1 and ~250 for 64×1; 1024-row classifier tiles.
      // Layers are not split by default (`split` absent). Splitting spreads a big layer's
      // matrices over every core but adds three dispatch boundaries per layer, and measured on
      // SwiftShader here it loses: the stories15M shape's six layers took 1.8–2.0× the wall
      // time split over 8 workgroups (Dawn, same run, load ~6), and Chromium decoded 5.2 tok/s
      // split against 9.0 before (load ~15). Opt in with e.g. `split: { minWeights: 1 << 18,
      // wgs: 8 }` and measure with `pnpm bench fused-breakdown`.
      fused: {
        wg: 8,
        maxTokens: 16,
        headRowsPerWg: 1024,
        rpt: 4,
        // Eight classifier rows share each activation load: ~10 % less CPU than four (f32).
        headRpt: 8,
      },
    };
  }
  return {
    ...base,
    dp4a: wgsl.has(DP4A_FEATURE),
    // 32 lanes per row: one warp (NVIDIA, Apple), half a wave64 or a wave32 (AMD), two or four
    // Intel subgroups; the two-level reduction in linear.ts serves any subgroup size.
    matvec: { wg: 128, tpr: 32, rpt: 1 },
    matmul: { wg: 128, tpr: 16, rpt: 2, tt: 4 },
    attnChunk: 128,
    attnWg: 128,
    // 16 tokens × the GQA group per tile: K/V read once per 16 queries instead of per query; the
    // tile shrinks to fit the device's workgroup memory (flashPrefillVariant).
    flashPrefill: { tq: 16, tk: 16, wg: 128, minTokens: 4 },
    elementWg: 256,
    fused: null,
  };
}
