// The Chromium page of `pnpm bench:gpu`: the same adapter report and row measurement as the
// Node runtime, with the engine from the public `/engine` entry loading the model by URL.
import { createLocalEngine } from '../../../src/engine/index.js';
import { EdgeLMError } from '../../../src/errors.js';
import { type AdapterReport, adapterReport, benchDevice } from '../adapter.js';
import { type MeasureResult, type MeasureSpec, measureEngine } from '../measure.js';

export type PageRow = MeasureResult & { loadSeconds: number };

declare global {
  interface Window {
    /** Asks for the device; the adapter report (with its bandwidth run) only when `report`. */
    gpuBenchAdapter(report: boolean): Promise<AdapterReport | null>;
    gpuBenchRow(url: string, spec: MeasureSpec): Promise<PageRow>;
  }
}

let device: GPUDevice | undefined;

window.gpuBenchAdapter = async (report) => {
  if (!navigator.gpu) throw new EdgeLMError('NO_BACKEND', 'This Chromium has no navigator.gpu');
  const got = await benchDevice(navigator.gpu);
  device = got.device;
  return report ? adapterReport(got.adapter, got.device) : null;
};

window.gpuBenchRow = async (url, spec) => {
  if (!device) throw new EdgeLMError('INVALID_ARGUMENT', 'gpuBenchAdapter() first');
  const t0 = performance.now();
  const engine = await createLocalEngine({
    model: url,
    backend: 'webgpu',
    device,
    cacheWeights: false,
    maxBatch: 1,
    prefixCacheBytes: 0,
    responseCache: false,
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    return { ...(await measureEngine(engine, spec)), loadSeconds };
  } finally {
    await engine.unload();
  }
};
