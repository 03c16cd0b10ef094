/**
 * llama.cpp's quantizations on the kernels real GPUs get (an adapter that is not CPU-emulated),
 * forced on SwiftShader: 32 lanes per matrix row, with subgroup reductions and int8 activations
 * through dot4I8Packed, and with neither (workgroup-memory reductions, f32 activations).
 */
import { vi } from 'vitest';
import { llamacppOnPath } from './helpers/llamacpp-webgpu.js';

vi.setConfig({ testTimeout: 300_000 });

llamacppOnPath('real-GPU (subgroups, dp4a)');
llamacppOnPath('real-GPU (no subgroups, f32 activations)');
