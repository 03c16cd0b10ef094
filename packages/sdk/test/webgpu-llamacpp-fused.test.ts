/** The llama.cpp files on the fused WebGPU kernels (one dispatch per layer); see webgpu-llamacpp.test.ts. */
import { describe, expect, it, vi } from 'vitest';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import {
  EXACT_TYPES,
  expected,
  FLOAT_ARITHMETIC,
  FUSED,
  LOGIT_TOL,
  llamacppOnPath,
  maxDiff,
  open,
  PAGE,
  referenceLogits,
  teacherForced,
} from './helpers/llamacpp-webgpu.js';
import { dawnDevice } from './helpers/webgpu.js';

// SwiftShader compiles each file's pipelines afresh (the fused layer kernel takes seconds).
vi.setConfig({ testTimeout: 300_000 });

llamacppOnPath('fused');

describe('llama.cpp files on WebGPU: weights stay quantized', () => {
  it.each([...EXACT_TYPES])('%s logits match the CPU reference on the fused kernels too', async (file) => {
    const model = await open(file);
    const e = expected[file]!;
    const backend = await createWebGpuBackend(model, {
      device: await dawnDevice(),
      pageSize: PAGE,
      pageCount: 8,
      profile: { fused: FUSED },
      ...FLOAT_ARITHMETIC,
    });
    const { logits } = await teacherForced(backend, e);
    backend.dispose();
    const want = await referenceLogits(model, e);
    let worst = 0;
    for (let t = 0; t < want.length; t++) worst = Math.max(worst, maxDiff(logits[t]!, want[t]!));
    expect(worst).toBeLessThanOrEqual(LOGIT_TOL);
  });
});
