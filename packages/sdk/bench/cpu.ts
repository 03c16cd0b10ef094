// CPU decode and prefill throughput: stories260K (F32, and its Q8_0 conversion) and a synthetic
// stories15M-shaped Q8_0 model, on the CPU backend's wasm SIMD kernels; the CPU reference
// forward pass is the baseline in the same run. Per type and at TinyLlama's size: cpu-quant.ts.

import { availableParallelism, loadavg } from 'node:os';
import type { Backend } from '../src/backends/backend.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGgufBytes } from '../src/formats/convert.js';
import { openModel } from '../src/formats/open-model.js';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { syntheticModel } from '../src/synth/synthetic-model.js';
import { loadStories260K } from './models.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

export async function toGguf(model: ModelFile, type: 'f32' | 'q8_0' | 'q4_0'): Promise<ModelFile> {
  const bytes = await convertToGgufBytes(model, type);
  return openModel(bytesSource(bytes, `${model.metadata['general.name']}-${type}.gguf`));
}

async function decodeRate(
  backend: Backend,
  prompt: number,
  decode: number,
): Promise<{ prefill: number; decode: number }> {
  const pages = Int32Array.from({ length: Math.ceil((prompt + decode + 1) / backend.pageSize) }, (_, i) => i);
  const tokens = Array.from({ length: prompt }, (_, i) => 3 + ((i * 37) % 200));
  let t0 = performance.now();
  await backend.forward([{ tokens, startPos: 0, pages }]);
  const prefill = (prompt * 1000) / (performance.now() - t0);
  t0 = performance.now();
  for (let i = 0; i < decode; i++)
    await backend.forward([{ tokens: [5 + (i % 100)], startPos: prompt + i, pages }]);
  return { prefill, decode: (decode * 1000) / (performance.now() - t0) };
}

function referenceRate(ref: ReferenceModel, prompt: number, decode: number): number {
  for (let p = 0; p < prompt; p++) ref.forward(3 + p, p);
  const t0 = performance.now();
  for (let i = 0; i < decode; i++) ref.forward(5 + (i % 100), prompt + i);
  return (decode * 1000) / (performance.now() - t0);
}

/** onnxruntime-web `wasm` decode on this machine (issue 6): what the CPU path must match. */
const ORT_WASM_TARGET: Record<string, number> = { 'stories260K f32': 550, 'stories15M q8_0': 160 };

async function measure(
  label: string,
  model: ModelFile,
  prompt: number,
  decode: number,
): Promise<BenchFigure[]> {
  const ref = await ReferenceModel.load(model, prompt + decode + 1);
  const pageCount = Math.ceil((prompt + decode + 1) / 16);
  const wasm = await createCpuBackend(model, { pageCount, kernels: 'wasm' });
  // one untimed pass each, so V8 has tiered up the JS loops and the wasm module
  referenceRate(ref, prompt, Math.min(decode, 16));
  await decodeRate(wasm, prompt, Math.min(decode, 16));
  // interleaved, so a change in machine load falls on both paths alike
  const refRates: number[] = [];
  const wasmRuns: { prefill: number; decode: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    refRates.push(referenceRate(ref, prompt, decode));
    wasmRuns.push(await decodeRate(wasm, prompt, decode));
  }
  const baseline = summarize(`${label} reference decode`, 'tok/s', refRates);
  const wasmDecode = summarize(
    `${label} cpu-wasm decode (vs reference)`,
    'tok/s',
    wasmRuns.map((r) => r.decode),
    baseline.median,
  );
  const wasmPrefill = summarize(
    `${label} cpu-wasm prefill (vs its decode)`,
    'tok/s',
    wasmRuns.map((r) => r.prefill),
    wasmDecode.median,
  );
  const figures = [baseline, wasmDecode, wasmPrefill];
  const target = ORT_WASM_TARGET[label];
  if (target !== undefined) {
    console.log(
      `${label}: cpu-wasm decode ${wasmDecode.median.toFixed(0)} tok/s vs onnxruntime-web wasm target ${target} (×${(wasmDecode.median / target).toFixed(2)})`,
    );
  }
  return figures;
}

export async function runCpuBench(): Promise<BenchFigure[]> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`load average before: ${load()} (${availableParallelism()} cores)`);
  const stories = await loadStories260K();
  const figures = [
    ...(await measure('stories260K f32', stories, 32, 200)),
    ...(await measure('stories260K q8_0', await toGguf(stories, 'q8_0'), 32, 200)),
    ...(await measure('stories15M q8_0', await toGguf(syntheticModel('stories15M', 1), 'q8_0'), 16, 128)),
    // the head-to-head (bench/compare.ts) runs float32 weights: bandwidth-bound (61 MB a token)
    ...(await measure('stories15M f32', await toGguf(syntheticModel('stories15M', 1), 'f32'), 16, 64)),
  ];
  console.log(`load average after: ${load()}`);
  writeBench('cpu', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runCpuBench();
