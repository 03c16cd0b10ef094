// WebGPU backend throughput on Dawn (SwiftShader in CI): prefill and decode tokens/s for
// stories260K and synthetic stories15M-shaped Q8_0/Q4_0 models on both kernel paths — fused
// (one dispatch per layer, what CPU-like adapters get) and general (what GPUs get) — measured
// interleaved in the same run, with dispatches and submits per decode step, the fused/general
// ratio, and the CPU reference forward pass as the baseline. The machine's load is printed:
// SwiftShader shares the CPU with everything else, so only same-run ratios compare.
// Run: node --conditions=source --import tsx packages/sdk/bench/webgpu.ts

import { loadavg } from 'node:os';
import { kernelProfile } from '@edgelm/kernels';
import { create, globals } from 'webgpu';
import { createWebGpuBackend, type WebGpuBackend } from '../src/backends/webgpu/index.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGguf } from '../src/formats/convert.js';
import { openModel } from '../src/formats/open-model.js';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { resolveSampling } from '../src/sampler/params.js';
import { syntheticModel } from '../src/synth/synthetic-model.js';
import { loadStories260K } from './models.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

// Held for the whole run: Dawn drops the device when its GPU object is collected.
Object.assign(globalThis, globals);
const gpu = create([]);

async function device(): Promise<GPUDevice> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new TypeError('No WebGPU adapter: set VK_ICD_FILENAMES');
  console.log(`adapter: ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`);
  const requiredFeatures = (['subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) =>
    adapter.features.has(f),
  );
  return adapter.requestDevice({ requiredFeatures });
}

async function toGguf(model: ModelFile, type: 'q8_0' | 'q4_0'): Promise<ModelFile> {
  const parts: Uint8Array[] = [];
  await convertToGguf(model, type, {
    async write(b) {
      parts.push(b.slice());
    },
  });
  const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return openModel(bytesSource(all, `${type}.gguf`));
}

function referenceRate(ref: ReferenceModel, prompt: number, decode: number): number {
  for (let p = 0; p < prompt; p++) ref.forward(3 + p, p);
  const t0 = performance.now();
  for (let i = 0; i < decode; i++) ref.forward(5 + (i % 100), prompt + i);
  return (decode * 1000) / (performance.now() - t0);
}

interface GpuRun {
  prefill: number;
  decode: number;
  decodeLogits: number;
  dispatches: number;
  submits: number;
}

async function gpuRun(b: WebGpuBackend, prompt: number, decode: number): Promise<GpuRun> {
  const pages = Int32Array.from({ length: Math.ceil((prompt + 2 * decode + 1) / b.pageSize) }, (_, i) => i);
  const tokens = Array.from({ length: prompt }, (_, i) => 3 + ((i * 37) % 200));
  const greedy = [{ params: resolveSampling({}), counter: 0 }];
  let t0 = performance.now();
  await b.forward([{ tokens, startPos: 0, pages }]);
  const prefill = (prompt * 1000) / (performance.now() - t0);
  // Decode with on-GPU argmax: only the token id comes back.
  let next = 5;
  t0 = performance.now();
  for (let i = 0; i < decode; i++) {
    const out = await b.forwardSample([{ tokens: [next], startPos: prompt + i, pages }], greedy);
    next = out[0]!;
  }
  const rate = (decode * 1000) / (performance.now() - t0);
  const { dispatches, submits } = b.stats;
  // Decode reading back the whole logits row, as the engine's CPU sampler needs.
  t0 = performance.now();
  for (let i = 0; i < decode; i++)
    await b.forward([{ tokens: [5 + i], startPos: prompt + decode + i, pages }]);
  const decodeLogits = (decode * 1000) / (performance.now() - t0);
  return { prefill, decode: rate, decodeLogits, dispatches, submits };
}

type Path = 'fused' | 'general';

/** Kernel choices per path: the CPU-like profile's fused shapes, or none (general kernels only). */
function pathProfiles(dev: GPUDevice) {
  const fused = kernelProfile({ isFallbackAdapter: true }, dev.features).fused;
  return { fused: { fused }, general: { fused: null } } as const;
}

async function measure(dev: GPUDevice, label: string, model: ModelFile, prompt: number, decode: number) {
  const ref = await ReferenceModel.load(model, prompt + decode + 1);
  const baseline = summarize(
    `${label} reference decode`,
    'tok/s',
    Array.from({ length: RUNS }, () => referenceRate(ref, prompt, decode)),
  );
  const profiles = pathProfiles(dev);
  const paths: Path[] = ['fused', 'general'];
  const backends = new Map<Path, WebGpuBackend>();
  const runs = new Map<Path, GpuRun[]>();
  for (const p of paths) {
    const b = await createWebGpuBackend(model, {
      device: dev,
      pageCount: Math.ceil((prompt + 2 * decode + 1) / 16),
      profile: profiles[p],
    });
    await gpuRun(b, prompt, 4); // warm-up: first dispatches of each pipeline
    backends.set(p, b);
    runs.set(p, []);
  }
  // Interleaved, so both paths see the same machine load.
  for (let i = 0; i < RUNS; i++)
    for (const p of paths) runs.get(p)!.push(await gpuRun(backends.get(p)!, prompt, decode));
  for (const b of backends.values()) b.dispose();
  const pick = (p: Path, f: (r: GpuRun) => number) => runs.get(p)!.map(f);
  const general = summarize(
    '',
    'tok/s',
    pick('general', (r) => r.decode),
  ).median;
  const figs: BenchFigure[] = [baseline];
  for (const p of paths) {
    figs.push(
      summarize(
        `${label} webgpu ${p} decode (GPU argmax)`,
        'tok/s',
        pick(p, (r) => r.decode),
        baseline.median,
      ),
      summarize(
        `${label} webgpu ${p} decode (logits read back)`,
        'tok/s',
        pick(p, (r) => r.decodeLogits),
        baseline.median,
      ),
      summarize(
        `${label} webgpu ${p} prefill ${prompt} tokens`,
        'tok/s',
        pick(p, (r) => r.prefill),
      ),
      summarize(
        `${label} webgpu ${p} dispatches per decode step`,
        'count',
        pick(p, (r) => r.dispatches),
      ),
      summarize(
        `${label} webgpu ${p} submits per decode step`,
        'count',
        pick(p, (r) => r.submits),
      ),
    );
  }
  figs.push(
    summarize(
      `${label} fused vs general decode (GPU argmax)`,
      'tok/s',
      pick('fused', (r) => r.decode),
      general,
    ),
  );
  return figs;
}

export async function runWebGpuBench(): Promise<BenchFigure[]> {
  const dev = await device();
  const load = () => loadavg()[0]!;
  const before = load();
  const stories = await loadStories260K();
  const s15 = syntheticModel('stories15M', 1);
  const figures = [
    ...(await measure(dev, 'stories260K f32', stories, 32, 128)),
    ...(await measure(dev, 'stories260K q8_0', await toGguf(stories, 'q8_0'), 32, 128)),
    ...(await measure(dev, 'stories15M q8_0', await toGguf(s15, 'q8_0'), 16, 32)),
    ...(await measure(dev, 'stories15M q4_0', await toGguf(s15, 'q4_0'), 16, 32)),
  ];
  // 1-minute load average at start and end (2 cores here): absolute figures scale with it.
  figures.push(summarize('machine load average (1 min)', 'load', [before, load()]));
  writeBench('webgpu', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runWebGpuBench();
  process.exit(0);
}
