/**
 * llama.cpp's own quantizations of a trained model (see $EDGELM_MODELS_DIR/llamacpp/README.md)
 * on the WebGPU backend (Dawn on SwiftShader): every file loads with its mix of types kept
 * quantized on the GPU, and at each of the 64 teacher-forced positions of expected.json picks
 * llama.cpp's greedy token at ≥ 95 % — on the fused kernels (one dispatch per layer) and on the
 * general ones (matvec for decode, tiled matmul for the prompt), the latter also with every
 * matrix split into parts by a forced buffer limit.
 */
import { describe, expect, it, vi } from 'vitest';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { llamacppOnPath, open } from './helpers/llamacpp-webgpu.js';
import { dawnDevice } from './helpers/webgpu.js';

// SwiftShader compiles each file's pipelines afresh.
vi.setConfig({ testTimeout: 300_000 });

llamacppOnPath('general');
llamacppOnPath('general, split at 24 KiB');

describe('llama.cpp files on WebGPU: weights stay quantized', () => {
  it.each(['wide-Q4_K_M.gguf', 'wide-IQ4_XS.gguf', 'wide-Q8_0.gguf'])(
    '%s: GPU weight bytes are the file’s tensor bytes (within 1 %)',
    async (file) => {
      const model = await open(file);
      const backend = await createWebGpuBackend(model, {
        device: await dawnDevice(),
        pageCount: 8,
        profile: { fused: null },
      });
      const gpu = backend.weightBytes;
      const file2d = model.tensors.filter((t) => t.shape.length > 1).reduce((s, t) => s + t.byteLength, 0);
      backend.dispose();
      expect(gpu / file2d).toBeGreaterThanOrEqual(1);
      expect(gpu / file2d).toBeLessThan(1.01);
    },
  );
});
