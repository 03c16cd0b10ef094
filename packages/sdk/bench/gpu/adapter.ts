// The adapter a runtime benchmarks on: a device asked for as the engine asks for one (the
// features and limits its kernels use), what the adapter says about itself, and its memory
// bandwidth measured with the read/copy kernels. Runs in Node (Dawn) and in the page alike.

import { isCpuAdapter } from '@edgelm/kernels';
import { requestEngineDevice } from '../../src/backends/webgpu/request-device.js';
import { type BandwidthResult, bandwidthPlan, measureBandwidth } from './bandwidth.js';
import { datasheetBandwidth } from './known-bandwidth.js';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  cpuLike: boolean;
  /** Adapter features; `enabled` are those the bench (and engine) device got. */
  features: string[];
  enabled: string[];
  limits: Record<string, number>;
  bandwidth?: BandwidthResult;
  /** A vendor datasheet's peak, when the description names a known part (not a measurement). */
  datasheet?: { gbps: number; part: string };
}

const LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'minSubgroupSize',
  'maxSubgroupSize',
] as const;

/** A device with the features and limits the engine's own device request takes. */
export async function benchDevice(gpu: GPU): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    throw new TypeError('No WebGPU adapter (in Node: is a Vulkan driver or VK_ICD_FILENAMES set?)');
  const device = await requestEngineDevice(adapter);
  return { adapter, device };
}

export function describeAdapter(adapter: GPUAdapter, device: GPUDevice): AdapterReport {
  const i = adapter.info;
  const limits: Record<string, number> = {};
  const al = adapter.limits as unknown as Record<string, number | undefined>;
  for (const k of LIMITS) if (typeof al[k] === 'number') limits[k] = al[k];
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`;
  const info = i as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    cpuLike: isCpuAdapter({ ...i, isFallbackAdapter: info.isFallbackAdapter }),
    features: [...adapter.features].sort(),
    enabled: [...device.features].sort(),
    limits,
    datasheet: datasheetBandwidth(text),
  };
}

/** The adapter's report with its bandwidth measured on `device`. */
export async function adapterReport(adapter: GPUAdapter, device: GPUDevice): Promise<AdapterReport> {
  const r = describeAdapter(adapter, device);
  r.bandwidth = await measureBandwidth(device, bandwidthPlan(device.limits, r.cpuLike));
  return r;
}
