// The Dawn-in-Node runtime: the `webgpu` package's device, the engine from the public
// `@edgelm/sdk/engine` entry on a file read at offsets, as a Node app would run it.

import { existsSync, readdirSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { createLocalEngine } from '../../src/engine/index.js';
import { fileSource } from '../../src/node/file-source.js';
import { type AdapterReport, adapterReport, benchDevice } from './adapter.js';
import { type MeasureResult, type MeasureSpec, measureEngine } from './measure.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Dawn finds Vulkan drivers through the loader's ICD files. Where the system has none (this
 * project's CI machines) and no ICD was named, SwiftShader's is used; a real GPU's driver
 * (or VK_ICD_FILENAMES / VK_DRIVER_FILES) wins.
 */
function pickVulkanDriver(): void {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return;
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const system = dirs.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
  if (!system && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
}

export interface NodeRuntime {
  adapter: AdapterReport;
  row(file: string, spec: MeasureSpec): Promise<MeasureResult & { loadSeconds: number }>;
  close(): void;
}

/** Dawn's instance: held for the process, since collecting it tears down devices still in use. */
let instance: GPU | undefined;

export async function startNodeRuntime(): Promise<NodeRuntime> {
  pickVulkanDriver();
  Object.assign(globalThis, globals);
  instance ??= create([]);
  const gpu = instance;
  const { adapter, device } = await benchDevice(gpu);
  device.addEventListener('uncapturederror', (e) =>
    console.error('WebGPU error:', (e as GPUUncapturedErrorEvent).error.message),
  );
  const report = await adapterReport(adapter, device);
  return {
    adapter: report,
    async row(file, spec) {
      const t0 = performance.now();
      const source = await fileSource(file);
      const engine = await createLocalEngine({
        model: source,
        backend: 'webgpu',
        device,
        maxBatch: 1,
        prefixCacheBytes: 0,
        responseCache: false,
      }).catch(async (e: unknown) => {
        await source.close();
        throw e;
      });
      const loadSeconds = (performance.now() - t0) / 1000;
      try {
        return { ...(await measureEngine(engine, spec)), loadSeconds };
      } finally {
        await engine.unload();
        await source.close();
      }
    },
    close: () => device.destroy(),
  };
}
