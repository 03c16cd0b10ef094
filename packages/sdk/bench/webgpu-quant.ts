// WebGPU throughput per llama.cpp weight type (Dawn; SwiftShader in CI): a stories110M-shaped
// model synthesized in each type mix (random blocks, llama.cpp's Q4_K_M/Q5_K_M tensor choices),
// decode (GPU argmax, one token id read back) and prefill tokens/s on the general kernels (what
// GPUs run; the fused one-workgroup-per-layer path is for tiny models), each against F16 measured
// in the same run, and GPU weight bytes against the file's tensor bytes (blocks are kept at their
// GGUF size, so ≈ 1.00). Then a TinyLlama-1.1B-shaped Q4_K_M loaded with buffers capped at
// 128 MiB (Android's binding limit) and a couple of tokens decoded (BENCH_TINYLLAMA=0 skips it).
// Run: node --conditions=source --import tsx packages/sdk/bench/webgpu-quant.ts [types…]

import { loadavg } from 'node:os';
import { create, globals } from 'webgpu';
import { createWebGpuBackend, type WebGpuBackend } from '../src/backends/webgpu/index.js';
import type { ModelFile } from '../src/model/model-file.js';
import { resolveSampling } from '../src/sampler/params.js';
import { type QuantMix, syntheticQuantizedModel } from '../src/synth/quantized-model.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const PROMPT = Number(process.env.BENCH_PROMPT ?? 16);
const DECODE = Number(process.env.BENCH_DECODE ?? 4);
const MIB = 1024 * 1024;
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

Object.assign(globalThis, globals);
const gpu = create([]);

async function device(): Promise<GPUDevice> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new TypeError('No WebGPU adapter: set VK_ICD_FILENAMES');
  console.log(`adapter: ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`);
  const requiredFeatures = (['subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) =>
    adapter.features.has(f),
  );
  return adapter.requestDevice({
    requiredFeatures,
    requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize },
  });
}

/** Figures printed as they come (a SwiftShader run of every type takes minutes), then tabled. */
function say(figs: BenchFigure[]): BenchFigure[] {
  for (const f of figs) console.log(`  ${f.name}: ${f.median.toFixed(3)} ${f.unit}`);
  return figs;
}

const fileBytes = (m: ModelFile) => m.tensors.reduce((s, t) => s + t.byteLength, 0);

async function rates(b: WebGpuBackend, prompt: number, decode: number) {
  const pages = Int32Array.from({ length: Math.ceil((prompt + decode + 1) / b.pageSize) }, (_, i) => i);
  const tokens = Array.from({ length: prompt }, (_, i) => 3 + ((i * 37) % 200));
  const greedy = [{ params: resolveSampling({}), counter: 0 }];
  let t0 = performance.now();
  let [next] = await b.forwardSample([{ tokens, startPos: 0, pages }], greedy);
  const prefill = (prompt * 1000) / (performance.now() - t0);
  t0 = performance.now();
  for (let i = 0; i < decode; i++) {
    [next] = await b.forwardSample([{ tokens: [next!], startPos: prompt + i, pages }], greedy);
  }
  return { prefill, decode: (decode * 1000) / (performance.now() - t0) };
}

async function perType(dev: GPUDevice, mixes: QuantMix[]): Promise<BenchFigure[]> {
  const figs: BenchFigure[] = [];
  const decodes = new Map<QuantMix, number[]>();
  const prefills = new Map<QuantMix, number[]>();
  for (const mix of mixes) {
    const model = syntheticQuantizedModel('stories110M', mix);
    const t0 = performance.now();
    const b = await createWebGpuBackend(model, {
      device: dev,
      pageCount: Math.ceil((PROMPT + DECODE + 1) / 16) + 1,
      maxTokens: PROMPT,
      profile: { fused: null },
    });
    const loadS = (performance.now() - t0) / 1000;
    await rates(b, 4, 1); // warm-up: first dispatch of each pipeline
    const d: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await rates(b, PROMPT, DECODE);
      d.push(r.decode);
      p.push(r.prefill);
    }
    decodes.set(mix, d);
    prefills.set(mix, p);
    const file = fileBytes(model);
    figs.push(
      ...say([
        summarize(`stories110M ${mix} load (pipelines + upload)`, 's', [loadS]),
        summarize(`stories110M ${mix} file tensor bytes`, 'MiB', [file / MIB]),
        summarize(`stories110M ${mix} GPU weight bytes / file bytes`, 'ratio', [b.weightBytes / file]),
        summarize(`stories110M ${mix} decode (general kernels)`, 'tok/s', d),
      ]),
    );
    b.dispose();
  }
  const base = (m: Map<QuantMix, number[]>) => summarize('', '', m.get('F16') ?? [0]).median || undefined;
  for (const mix of mixes) {
    figs.push(
      summarize(`stories110M ${mix} decode (general kernels)`, 'tok/s', decodes.get(mix)!, base(decodes)),
      summarize(`stories110M ${mix} prefill ${PROMPT} tokens`, 'tok/s', prefills.get(mix)!, base(prefills)),
    );
  }
  return figs;
}

/** TinyLlama-1.1B Q4_K_M with buffers capped at 128 MiB: it loads, and decodes a couple of tokens. */
async function tinyLlama(dev: GPUDevice): Promise<BenchFigure[]> {
  const model = syntheticQuantizedModel('tinyllama-1.1b', 'Q4_K_M');
  const file = fileBytes(model);
  const t0 = performance.now();
  const b = await createWebGpuBackend(model, {
    device: dev,
    pageSize: 16,
    pageCount: 4,
    maxTokens: 8,
    maxSeqs: 1,
    bufferLimit: 128 * MIB,
    profile: { fused: null },
  });
  const loadS = (performance.now() - t0) / 1000;
  const r = await rates(b, 4, 2);
  const figs = say([
    summarize('tinyllama-1.1b Q4_K_M load at 128 MiB buffers', 's', [loadS]),
    summarize('tinyllama-1.1b Q4_K_M file tensor bytes', 'MiB', [file / MIB]),
    summarize('tinyllama-1.1b Q4_K_M GPU weight bytes / file bytes', 'ratio', [b.weightBytes / file]),
    summarize('tinyllama-1.1b Q4_K_M decode (2 tokens)', 'tok/s', [r.decode]),
    summarize('tinyllama-1.1b Q4_K_M prefill 4 tokens', 'tok/s', [r.prefill]),
    summarize('tinyllama-1.1b Q4_K_M bytes read per decoded token', 'MiB', [b.weightBytes / MIB]),
  ]);
  b.dispose();
  return figs;
}

const ALL: QuantMix[] = ['F16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0', 'IQ4_XS', 'Q3_K', 'Q2_K'];

export async function runWebGpuQuantBench(mixes: QuantMix[] = ALL): Promise<BenchFigure[]> {
  const dev = await device();
  const before = loadavg()[0]!;
  const tiny = process.env.BENCH_TINYLLAMA === '0' ? [] : await tinyLlama(dev);
  const figures = [...tiny, ...(await perType(dev, mixes))];
  figures.push(summarize('machine load average (1 min)', 'load', [before, loadavg()[0]!]));
  writeBench('webgpu-quant', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv.slice(2) as QuantMix[];
  await runWebGpuQuantBench(only.length ? only : ALL);
  process.exit(0);
}
