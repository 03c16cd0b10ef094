import { create, globals } from 'webgpu';
import { PipelineCache } from '../../src/gpu/pipeline-cache.js';
import { type KernelProfile, kernelProfile } from '../../src/gpu/profile.js';

export interface TestGpu {
  device: GPUDevice;
  cache: PipelineCache;
  profile: KernelProfile;
}

let shared: Promise<TestGpu> | undefined;
// Dawn tears the device down when its GPU object is garbage-collected, so it is held here.
let instance: GPU | undefined;

/** One Dawn device per test file (SwiftShader through VK_ICD_FILENAMES, set by vitest.config.ts). */
export function testGpu(): Promise<TestGpu> {
  shared ??= (async () => {
    Object.assign(globalThis, globals);
    instance = create([]);
    const adapter = await instance.requestAdapter();
    if (!adapter) throw new TypeError('No WebGPU adapter: is VK_ICD_FILENAMES set?');
    const requiredFeatures = adapter.features.has('subgroups') ? (['subgroups'] as GPUFeatureName[]) : [];
    const device = await adapter.requestDevice({ requiredFeatures });
    return {
      device,
      cache: new PipelineCache(device),
      profile: kernelProfile(adapter.info, device.features),
    };
  })();
  return shared;
}

export function upload(device: GPUDevice, data: ArrayBufferView, extra = 0): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
  const buf = device.createBuffer({
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extra,
    mappedAtCreation: true,
  });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buf.unmap();
  return buf;
}

export function emptyBuffer(device: GPUDevice, bytes: number): GPUBuffer {
  return device.createBuffer({
    size: Math.max(16, Math.ceil(bytes / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, count: number): Promise<Float32Array> {
  const bytes = Math.ceil((count * 4) / 4) * 4;
  const rb = device.createBuffer({
    size: Math.max(16, bytes),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, rb, 0, Math.max(16, bytes));
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0, count * 4));
  rb.unmap();
  rb.destroy();
  return out;
}

export async function readU32(device: GPUDevice, buf: GPUBuffer, count: number): Promise<Uint32Array> {
  const f = await readF32(device, buf, count);
  return new Uint32Array(f.buffer);
}

/** Runs one compute pass built by `encode` and waits for it. */
export async function run(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void): Promise<void> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encode(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
}
