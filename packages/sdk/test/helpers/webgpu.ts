import { create, globals } from 'webgpu';

// Dawn destroys its devices when the GPU object is collected, so it lives as long as the module.
let instance: GPU | undefined;
let device: Promise<GPUDevice> | undefined;

/** A Dawn device (SwiftShader in CI through VK_ICD_FILENAMES), shared by a test file. */
export function dawnDevice(): Promise<GPUDevice> {
  device ??= (async () => {
    Object.assign(globalThis, globals);
    instance = create([]);
    const adapter = await instance.requestAdapter();
    if (!adapter) throw new TypeError('No WebGPU adapter: is VK_ICD_FILENAMES set?');
    const requiredFeatures = (['subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) =>
      adapter.features.has(f),
    );
    return adapter.requestDevice({ requiredFeatures });
  })();
  return device;
}

/** A fresh device each call, for tests that destroy theirs. */
export async function freshDawnDevice(): Promise<GPUDevice> {
  Object.assign(globalThis, globals);
  instance ??= create([]);
  const adapter = await instance.requestAdapter();
  if (!adapter) throw new TypeError('No WebGPU adapter');
  return adapter.requestDevice();
}
