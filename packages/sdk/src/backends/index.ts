/// <reference types="@webgpu/types" preserve="true" />
// @edgelm/sdk/backends — the forward passes an engine drives, for apps that build their own
// engine or benchmark one backend: CPU (WASM SIMD), WebGPU (our WGSL kernels), onnxruntime-web.

export type { Backend, BackendName, SampleRequest, SequenceStep, StepLogits } from './backend.js';
export { type CpuBackend, type CpuBackendOptions, createCpuBackend } from './cpu/cpu-backend.js';
export {
  createOnnxBackend,
  loadOnnxModel,
  OnnxBackend,
  type OnnxBackendOptions,
  type OnnxModel,
  type OrtExecutionProvider,
  type OrtWasmPaths,
} from './onnx/index.js';
export { createWebGpuBackend, WebGpuBackend, type WebGpuBackendOptions } from './webgpu/index.js';
