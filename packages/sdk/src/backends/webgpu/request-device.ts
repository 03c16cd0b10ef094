/** Optional features the kernels use where the adapter has them. */
const WANTED_FEATURES: GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];

/**
 * The device the engine runs on: the adapter's optional features the kernels use, and its full
 * buffer, binding and workgroup limits (the defaults are far below what GPUs have: 128 MiB
 * bindings, 16 KiB of workgroup memory), so big matrices and flash-attention tiles fit.
 */
export function requestEngineDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const l = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures: WANTED_FEATURES.filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    },
  });
}
