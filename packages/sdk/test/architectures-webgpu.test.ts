// Every architecture's synthetic GGUF on WebGPU (Dawn on SwiftShader) against the reference:
// the general kernels, and whatever the adapter's own profile picks (the fused kernels decline
// what a llama layer cannot express, so the general path runs those).

import { describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { ARCH_SAMPLES, type ArchSampleName } from '../src/synth/arch-gguf.js';
import {
  ARCH_DECODE,
  ARCH_PROMPT,
  type ArchCase,
  archReferenceRun,
  archSample,
  maxAbsDiff,
} from './helpers/arch.js';
import { dawnDevice } from './helpers/webgpu.js';

const NAMES: ArchCase[] = [...(Object.keys(ARCH_SAMPLES) as ArchSampleName[]), 'gemma3+softcaps'];
/** f32 weights; the GPU sums in another order and in f32 throughout (float arithmetic, below). */
const TOL = 2e-3;

describe.each(NAMES)('%s on WebGPU', (name) => {
  it.each([
    // The 13-token prompt runs the tiled flash prefill (4-token query tiles, the last one of 1),
    // decode steps the split-K kernel over 16-key chunks (merged past position 16).
    [
      'general kernels, tiled prefill attention, 16-key chunks',
      { fused: null, attnChunk: 16, flashPrefill: { tq: 4, tk: 8, wg: 64, minTokens: 4 } },
    ],
    ["the adapter's profile", {}],
  ] as const)(`%s follow the reference within ${TOL}`, async (_label, profile) => {
    const model = await archSample(name);
    const want = await archReferenceRun(model);
    const backend = await createWebGpuBackend(model, {
      device: await dawnDevice(),
      pageSize: 4,
      pageCount: 12,
      profile,
      kvCache: 'f32',
      activations: 'f32',
    });
    const pages = Int32Array.from({ length: 5 }, (_, i) => 11 - 2 * i);
    const [first] = await backend.forward([{ tokens: ARCH_PROMPT, startPos: 0, pages }]);
    let worst = maxAbsDiff(first!, want.logits[0]!);
    for (let i = 0; i < ARCH_DECODE - 1; i++) {
      const pos = ARCH_PROMPT.length + i;
      const [l] = await backend.forward([{ tokens: [want.tokens[pos]!], startPos: pos, pages }]);
      worst = Math.max(worst, maxAbsDiff(l!, want.logits[i + 1]!));
    }
    // On a CPU-like adapter the llama layouts (Llama 3's rope_freqs included) take the fused kernels.
    const fusedExpected = 'fused' in profile || !backend.profile.fused ? false : name.startsWith('llama');
    if (fusedExpected) expect(backend.stats.fusedSubmits).toBeGreaterThan(0);
    backend.dispose();
    expect(worst).toBeLessThan(TOL);
  });
});
