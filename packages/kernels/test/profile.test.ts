import { describe, expect, it } from 'vitest';
import { type AdapterDescription, DP4A_FEATURE, kernelProfile } from '../src/gpu/profile.js';

const SUBGROUPS = new Set(['subgroups', 'shader-f16']);
const NONE = new Set<string>();
const DP4A = new Set([DP4A_FEATURE]);

describe('kernelProfile: kernels chosen by adapter', () => {
  it.each<[string, AdapterDescription]>([
    [
      'SwiftShader (Chromium)',
      { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' },
    ],
    ['llvmpipe', { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }],
    ['lavapipe', { vendor: 'mesa', architecture: 'lavapipe' }],
    ['WARP', { vendor: 'microsoft', description: 'Microsoft Basic Render Driver (WARP)' }],
    ['a fallback adapter', { vendor: 'unknown', isFallbackAdapter: true }],
  ])('%s → the fused one-dispatch-per-layer kernels, f32 activations', (_, info) => {
    for (const f of [NONE, SUBGROUPS]) {
      const p = kernelProfile(info, f, DP4A);
      expect(p.cpuLike).toBe(true);
      expect(p.fused).not.toBeNull();
      expect(p.dp4a).toBe(false);
      expect(p.matvec.tpr).toBe(1);
      // Prefill attention stays the split-K kernel over a grid of queries.
      expect(p.flashPrefill).toBeNull();
    }
  });

  it.each<[string, AdapterDescription]>([
    ['NVIDIA', { vendor: 'nvidia', architecture: 'ada-lovelace' }],
    ['AMD', { vendor: 'amd', architecture: 'rdna-3' }],
    ['Intel', { vendor: 'intel', architecture: 'gen-12lp' }],
    ['Apple', { vendor: 'apple', architecture: 'metal-3' }],
    ['Qualcomm', { vendor: 'qualcomm', architecture: 'adreno-7xx' }],
  ])('%s → the general kernels: wide rows, subgroups and dp4a as the device has them', (_, info) => {
    const both = kernelProfile(info, SUBGROUPS, DP4A);
    expect(both).toMatchObject({ cpuLike: false, fused: null, subgroups: true, dp4a: true, f16: true });
    // Many workgroups of 32 lanes per row (a warp / wave32 / Apple SIMD group).
    expect(both.matvec).toEqual({ wg: 128, tpr: 32, rpt: 1 });
    expect(both.matmul.tt).toBeGreaterThan(1);
    // Prefill attention in query tiles (K/V loaded once per tile); decode keeps split-K.
    expect(both.flashPrefill?.tq).toBeGreaterThan(1);
    expect(kernelProfile(info, NONE, DP4A)).toMatchObject({ subgroups: false, dp4a: true, fused: null });
    expect(kernelProfile(info, SUBGROUPS, NONE)).toMatchObject({ subgroups: true, dp4a: false, fused: null });
    // Without navigator.gpu.wgslLanguageFeatures (older browsers): no dp4a.
    expect(kernelProfile(info, SUBGROUPS).dp4a).toBe(false);
  });
});
