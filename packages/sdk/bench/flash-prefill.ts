// Prefill attention on Dawn: the tiled flash prefill (what real GPUs get) against the split-K
// decode kernel run over a grid of query tokens (what they got before, and what CPU-like
// adapters keep), one prompt chunk of 64 tokens after `BENCH_CACHED` cached positions (default
// 192) at the attention shapes of Qwen2.5-0.5B and Llama-3.2-1B. Same run, interleaved; the two
// outputs are compared first, so a fast wrong kernel cannot win. On SwiftShader this measures
// an emulator (one core per workgroup): only a real adapter's figures say what a GPU gains.
// Run: node --conditions=source --import tsx packages/sdk/bench/flash-prefill.ts

import { loadavg } from 'node:os';
import {
  attentionChunk,
  attentionMergeProgram,
  attentionMergeUniforms,
  attentionProgram,
  attentionUniforms,
  bindGroup,
  Dispatch,
  elementGrid,
  flashPrefillGrid,
  flashPrefillProgram,
  flashPrefillUniforms,
  flashPrefillVariant,
  kernelProfile,
  PipelineCache,
  UniformArena,
} from '@edgelm/kernels';
import { create, globals } from 'webgpu';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CACHED = Number(process.env.BENCH_CACHED ?? 192);
const T = 64;
const PAGE = 16;
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

Object.assign(globalThis, globals);
const gpu = create([]);

const SHAPES = [
  { label: 'Qwen2.5-0.5B (14 q / 2 kv heads × 64)', nHeads: 14, nKv: 2, hd: 64 },
  { label: 'Llama-3.2-1B (32 q / 8 kv heads × 64)', nHeads: 32, nKv: 8, hd: 64 },
];

function buffer(dev: GPUDevice, data: ArrayBufferView | number): GPUBuffer {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  const b = dev.createBuffer({
    size: Math.max(16, Math.ceil(bytes / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  if (typeof data !== 'number') dev.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
}

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function read(dev: GPUDevice, src: GPUBuffer, n: number): Promise<Float32Array> {
  const rb = dev.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = dev.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, rb, 0, n * 4);
  dev.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0));
  rb.destroy();
  return out;
}

async function measure(dev: GPUDevice, cache: PipelineCache, s: (typeof SHAPES)[number]) {
  const { nHeads, nKv, hd } = s;
  const group = nHeads / nKv;
  const stride = (nHeads + 2 * nKv) * hd;
  const len = CACHED + T;
  const maxPages = Math.ceil(len / PAGE);
  const chunk = attentionChunk(128, group);
  const nChunks = Math.ceil(len / chunk);
  const meta = new Uint32Array(T * 4);
  for (let j = 0; j < T; j++) meta.set([3, CACHED + j, 0, 0], j * 4);
  // Pages in reverse order: the lookups are not the identity.
  const pages = Int32Array.from({ length: maxPages }, (_, i) => maxPages - 1 - i);
  const res = {
    QKV: buffer(dev, random(T * stride, 1)),
    META: buffer(dev, meta),
    PAGES: buffer(dev, pages),
    KC: buffer(dev, random(maxPages * PAGE * nKv * hd, 2)),
    VC: buffer(dev, random(maxPages * PAGE * nKv * hd, 3)),
    PART: buffer(dev, T * nHeads * nChunks * (hd + 2) * 4),
  };
  const outs = { splitK: buffer(dev, T * nHeads * hd * 4), flash: buffer(dev, T * nHeads * hd * 4) };
  const arena = new UniformArena(dev, 4);
  const common = { T, nHeads, nKv, headDim: hd, qkvStride: stride, pageSize: PAGE, maxPages, nChunks };
  const f = { scale: 1 / Math.sqrt(hd), window: 0, softcap: 0 };
  const hdMax = Math.ceil(hd / 8) * 8;
  const split = await cache.prepare(attentionProgram({ group, wg: 128, chunk, hdMax, kv: 'f32' }));
  const tile = kernelProfile({ vendor: 'nvidia' }, dev.features).flashPrefill!;
  const fv = flashPrefillVariant(tile, group, hd, dev.limits.maxComputeWorkgroupStorageSize);
  if (!fv) throw new TypeError(`No flash tile fits ${s.label}`);
  const flash = await cache.prepare(flashPrefillProgram(fv));
  const merge = await cache.prepare(attentionMergeProgram({ wg: 256 }));
  const us = arena.alloc(attentionUniforms).setAll({ ...common, ...f });
  const uf = arena.alloc(flashPrefillUniforms).setAll({ ...common, ...f, chunk });
  const um = arena.alloc(attentionMergeUniforms).setAll({ T, nHeads, headDim: hd, nChunks });
  arena.flush();
  const kernels = {
    splitK: {
      d: new Dispatch(split, bindGroup(dev, split, { ...res, OUT: outs.splitK, P: arena.binding(us) })),
      grid: [nChunks, nKv, T] as const,
    },
    flash: {
      d: new Dispatch(flash, bindGroup(dev, flash, { ...res, OUT: outs.flash, P: arena.binding(uf) })),
      grid: flashPrefillGrid(fv, T, nKv, nChunks),
    },
  };
  const merges = {
    splitK: new Dispatch(
      merge,
      bindGroup(dev, merge, { PART: res.PART, OUT: outs.splitK, P: arena.binding(um) }),
    ),
    flash: new Dispatch(
      merge,
      bindGroup(dev, merge, { PART: res.PART, OUT: outs.flash, P: arena.binding(um) }),
    ),
  };
  type K = keyof typeof kernels;
  const once = async (k: K, reps: number) => {
    const t0 = performance.now();
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < reps; i++) {
      const [x, y, z] = kernels[k].grid;
      kernels[k].d.encode(pass, x, y, z);
      if (nChunks > 1) merges[k].encode(pass, ...elementGrid(T * nHeads * hd, 256));
    }
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    return (reps * T * 1000) / (performance.now() - t0);
  };
  await once('splitK', 1);
  await once('flash', 1);
  const a = await read(dev, outs.splitK, T * nHeads * hd);
  const b = await read(dev, outs.flash, T * nHeads * hd);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  if (!(diff < 1e-4)) throw new TypeError(`flash prefill differs from split-K by ${diff} on ${s.label}`);
  const reps = Number(process.env.BENCH_REPS ?? 4);
  const rates: Record<K, number[]> = { splitK: [], flash: [] };
  for (let i = 0; i < RUNS; i++)
    for (const k of ['splitK', 'flash'] as K[]) rates[k].push(await once(k, reps));
  const base = summarize(`${s.label} split-K grid, ${T} tokens after ${CACHED}`, 'tok/s', rates.splitK);
  return [
    base,
    summarize(
      `${s.label} flash prefill (tq ${fv.tq}, tk ${fv.tk}), ${T} tokens after ${CACHED}`,
      'tok/s',
      rates.flash,
      base.median,
    ),
  ];
}

export async function runFlashPrefillBench(): Promise<BenchFigure[]> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new TypeError('No WebGPU adapter: set VK_ICD_FILENAMES');
  console.log(`adapter: ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`);
  const dev = await adapter.requestDevice({
    requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize },
  });
  const cache = new PipelineCache(dev);
  const before = loadavg()[0]!;
  const figures: BenchFigure[] = [];
  for (const s of SHAPES) figures.push(...(await measure(dev, cache, s)));
  figures.push(summarize('machine load average (1 min)', 'load', [before, loadavg()[0]!]));
  writeBench('flash-prefill', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runFlashPrefillBench();
  process.exit(0);
}
