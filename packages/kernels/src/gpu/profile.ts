/**
 * Per-adapter kernel shapes. CPU-emulated adapters (SwiftShader, WARP, llvmpipe) run each
 * workgroup as a loop on one core and pay per dispatch and per workgroup, so they want few,
 * large workgroups with many rows each; real GPUs want many small ones to fill their cores.
 */
export interface KernelProfile {
  /** True on a CPU-emulated adapter. */
  cpuLike: boolean;
  subgroups: boolean;
  f16: boolean;
  /** Matrix–vector: invocations per workgroup, invocations sharing one row, rows per invocation. */
  matvec: { wg: number; tpr: number; rpt: number };
  /** Matrix–matrix (prefill): the same, plus tokens per tile. */
  matmul: { wg: number; tpr: number; rpt: number; tt: number };
  /** Keys per attention split-K chunk. */
  attnChunk: number;
  attnWg: number;
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

/** Shapes for a device; `features` is `device.features` (what was actually enabled). */
export function kernelProfile(info: AdapterDescription, features: ReadonlySet<string>): KernelProfile {
  const cpuLike = isCpuAdapter(info);
  const base = {
    cpuLike,
    subgroups: features.has('subgroups'),
    f16: features.has('shader-f16'),
  };
  if (cpuLike) {
    return {
      ...base,
      matvec: { wg: 64, tpr: 1, rpt: 2 },
      matmul: { wg: 64, tpr: 1, rpt: 2, tt: 4 },
      // Small chunks: SwiftShader's cost per attention workgroup grows with its workgroup memory
      // (measured 10.5 ms per dispatch at 512 keys against 2.6 ms at 64 on stories260K).
      attnChunk: 64,
      attnWg: 64,
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
    matvec: { wg: 128, tpr: 32, rpt: 1 },
    matmul: { wg: 128, tpr: 16, rpt: 2, tt: 4 },
    attnChunk: 128,
    attnWg: 128,
    elementWg: 256,
    fused: null,
  };
}
