// Where a fused decode step's time goes on a CPU-like adapter (Dawn on SwiftShader): the decoder
// layer kernel and the classifier-with-argmax kernel of `fusedDesign`, each submitted alone and
// awaited (`onSubmittedWorkDone`), on a stories15M-shaped f32 layer (dim 288, hidden 768, 6
// heads, 32000-token vocabulary) at the context lengths a short decode sees. Weights are random:
// only time is measured here (correctness is the kernels' and the backend's tests). Achieved
// GB/s = weight bytes read per dispatch / time. The six layers run both ways (one dispatch each,
// and split over several workgroups), interleaved; then end-to-end greedy decode of stories260K
// and the stories15M shape with the profile's shapes against the one-dispatch layers and 4-row
// classifier they replace, in the same run. CPU time is printed too: SwiftShader's threads are
// this process's, and other processes' load inflates it less than wall time.
// FUSED_PROFILE='{"wg":16}' overrides fields of the fused shapes.
// Run: pnpm bench fused-breakdown

import { loadavg } from 'node:os';
import {
  argmaxMergeProgram,
  argmaxMergeUniforms,
  bindGroup,
  type CompiledProgram,
  type DecoderLayerVariant,
  Dispatch,
  decoderLayerActivations,
  decoderLayerPack,
  decoderLayerProgram,
  decoderLayerSplitStride,
  decoderLayerUniforms,
  decoderLayerWorkgroups,
  headArgmaxProgram,
  headArgmaxUniforms,
  type KernelProfile,
  kernelProfile,
  PipelineCache,
  UniformArena,
  weightLayout,
} from '@edgelm/kernels';
import { create, globals } from 'webgpu';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGgufBytes } from '../src/formats/convert.js';
import { openGguf } from '../src/formats/gguf/model.js';
import type { ModelFile } from '../src/model/model-file.js';
import { resolveSampling } from '../src/sampler/params.js';
import { syntheticModel } from '../src/synth/synthetic-model.js';
import { loadStories260K } from './models.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
Object.assign(globalThis, globals);
const gpu = create([]);

const SHAPE = {
  dim: 288,
  hidden: 768,
  nHeads: 6,
  nKv: 6,
  headDim: 48,
  ctx: 256,
  vocab: Number(process.env.FUSED_VOCAB ?? 32000),
};
const PAGE = 16;

function randomWords(n: number, seed: number): Uint32Array {
  // Small finite floats (no denormals, no NaNs), so every type's time is that of real data.
  const f = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return new Uint32Array(f.buffer);
}

function storage(device: GPUDevice, data: ArrayBufferView | number): GPUBuffer {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  const buf = device.createBuffer({
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: typeof data !== 'number',
  });
  if (typeof data !== 'number') {
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
  }
  return buf;
}

/**
 * Milliseconds per submit (each awaited) of what `encode` records, RUNS samples of `reps`
 * submits. Also the process's CPU milliseconds per submit (SwiftShader's threads are this
 * process's): the kernel's work, which other processes' load inflates far less than wall time.
 */
async function time(
  device: GPUDevice,
  encode: (pass: GPUComputePassEncoder) => void,
  reps: number,
  runs = RUNS,
) {
  const once = async () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await once();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) await once();
    const c = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / reps);
    cpu.push((c.user + c.system) / 1000 / reps);
  }
  return { wall, cpu };
}

function figs(name: string, t: { wall: number[]; cpu: number[] }): BenchFigure[] {
  return [summarize(name, 'ms', t.wall), summarize(`${name} (CPU time)`, 'ms', t.cpu)];
}

type Fused = NonNullable<KernelProfile['fused']>;

/**
 * End to end, greedy decode with on-GPU argmax (what `compare` measures in Chromium) on
 * stories260K and the stories15M shape as f32 GGUF: the profile's shapes against the
 * one-dispatch layers and 4-row classifier they replace, interleaved in this run.
 */
async function decodeRates(device: GPUDevice, f: Fused): Promise<BenchFigure[]> {
  const split = f.split ?? { minWeights: 1 << 18, wgs: 8 };
  const shapes: Record<string, Fused> = {
    'one-dispatch layers, 4-row classifier': { ...f, split: undefined, headRpt: f.rpt },
    'profile shapes': f,
    [`layers split over ${split.wgs} workgroups`]: { ...f, split },
  };
  const models: [string, ModelFile][] = [
    ['stories260K', await loadStories260K()],
    ['stories15M-shape', syntheticModel('stories15M', 1)],
  ];
  const out: BenchFigure[] = [];
  for (const [name, base] of models) {
    const model = await openGguf(bytesSource(await convertToGgufBytes(base, 'f32'), `${name}.gguf`));
    const prompt = 16;
    const decode = name === 'stories260K' ? 64 : 16;
    const pages = Int32Array.from({ length: Math.ceil((prompt + decode) / PAGE) }, (_, i) => i);
    const greedy = [{ params: resolveSampling({}), counter: 0 }];
    const backends = await Promise.all(
      Object.values(shapes).map((fused) =>
        createWebGpuBackend(model, { device, pageSize: PAGE, pageCount: pages.length, profile: { fused } }),
      ),
    );
    const rates: number[][] = backends.map(() => []);
    const tokens: number[][] = backends.map(() => []);
    for (let r = 0; r < Math.max(3, RUNS - 2) + 1; r++) {
      for (const [i, b] of backends.entries()) {
        await b.forward([{ tokens: Array.from({ length: prompt }, (_, j) => 3 + j), startPos: 0, pages }]);
        let next = 5;
        const got: number[] = [];
        const t0 = performance.now();
        for (let k = 0; k < decode; k++) {
          next = (await b.forwardSample([{ tokens: [next], startPos: prompt + k, pages }], greedy))[0]!;
          got.push(next);
        }
        if (r > 0) rates[i]!.push((decode * 1000) / (performance.now() - t0));
        tokens[i] = got;
      }
    }
    for (const b of backends) b.dispose();
    // Same computation: the greedy tokens must not move.
    if (tokens.some((t) => t.join() !== tokens[0]!.join())) throw new Error(`${name}: greedy tokens differ`);
    const labels = Object.keys(shapes);
    const baseline = summarize('', 'tok/s', rates[0]!).median;
    labels.forEach((label, i) => {
      out.push(
        summarize(`${name} f32 decode tok/s, ${label}`, 'tok/s', rates[i]!, i > 0 ? baseline : undefined),
      );
    });
  }
  return out;
}

export async function runFusedBreakdownBench(): Promise<BenchFigure[]> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new TypeError('No WebGPU adapter: set VK_ICD_FILENAMES');
  const device = await adapter.requestDevice();
  // FUSED_PROFILE='{"wg":16}' overrides fields of the CPU-like profile's fused shapes.
  const f = {
    ...kernelProfile({ isFallbackAdapter: true }, device.features).fused!,
    ...(JSON.parse(process.env.FUSED_PROFILE ?? '{}') as object),
  };
  console.log(`adapter: ${adapter.info.description}; fused profile ${JSON.stringify(f)}`);
  const before = loadavg()[0]!;
  const cache = new PipelineCache(device);
  const arena = new UniformArena(device, 4);
  const figures: BenchFigure[] = [];

  // One decoder layer.
  const v: DecoderLayerVariant = {
    tQ: 'f32',
    tK: 'f32',
    tV: 'f32',
    tWo: 'f32',
    tGu: 'f32',
    tDn: 'f32',
    wg: f.wg,
    ...SHAPE,
    style: 'interleaved',
    act: 'workgroup',
    rpt: f.rpt,
    part: 'all',
    split: f.split?.wgs ?? 8,
    // What the backend runs by default (llama.cpp's arithmetic; f32 weights keep f32 inputs).
    kv: 'f16',
    xq: 'q8',
  };
  const pack = decoderLayerPack(v);
  const acts = decoderLayerActivations(v);
  const maxTokens = f.maxTokens;
  const scr = maxTokens * SHAPE.dim;
  const sco = scr + maxTokens * decoderLayerSplitStride(v);
  const xFloats = sco + acts.scores;
  // The layer in one dispatch, and split in four over `split` workgroups.
  const ways = {
    whole: [{ ...v, part: 'all' }],
    split: (['qkv', 'attn', 'ffn', 'down'] as const).map((part) => ({ ...v, part })),
  } satisfies Record<string, DecoderLayerVariant[]>;
  const kernels = Object.fromEntries(
    await Promise.all(
      Object.entries(ways).map(async ([k, vs]) => [
        k,
        await Promise.all(
          vs.map(async (pv) => ({
            program: await cache.prepare(decoderLayerProgram(pv)),
            n: decoderLayerWorkgroups(pv),
          })),
        ),
      ]),
    ),
  ) as Record<keyof typeof ways, { program: CompiledProgram; n: number }[]>;
  const ul = arena.alloc(decoderLayerUniforms);
  const kvFloats = SHAPE.ctx * SHAPE.nKv * SHAPE.headDim;
  const meta = new Uint32Array(4);
  const metaBuf = storage(device, 16);
  const pages = Int32Array.from({ length: SHAPE.ctx / PAGE }, (_, i) => i);
  const x = new Float32Array(xFloats);
  x.set(new Float32Array(randomWords(SHAPE.dim, 7).buffer));
  const xBuf = storage(device, x);
  const kc = storage(device, new Float32Array(randomWords(kvFloats, 2).buffer));
  const vc = storage(device, new Float32Array(randomWords(kvFloats, 3).buffer));
  const pagesBuf = storage(device, pages);
  const rope = storage(device, new Float32Array(SHAPE.ctx * SHAPE.headDim));
  // Six packs, as in the model: together (24 MB) they do not stay in the caches as one does.
  const words = Array.from({ length: 6 }, (_, l) => storage(device, randomWords(pack.words, 10 + l)));
  const encoders = Object.fromEntries(
    Object.entries(kernels).map(([k, ks]) => {
      const ds = words.flatMap((W) =>
        ks.map(({ program, n }) => {
          const group = bindGroup(device, program, {
            W,
            ACT: xBuf,
            KC: kc,
            VC: vc,
            META: metaBuf,
            PAGES: pagesBuf,
            ROPE: rope,
            P: arena.binding(ul),
          });
          return { d: new Dispatch(program, group), n };
        }),
      );
      const encode = (p: GPUComputePassEncoder) => {
        for (const { d, n } of ds) d.encode(p, n);
      };
      return [k, encode];
    }),
  ) as Record<keyof typeof ways, (p: GPUComputePassEncoder) => void>;
  const layerBytes = 4 * pack.words;
  const setPos = (pos: number) => {
    ul.setAll({ T: 1, pageSize: PAGE, maxPages: pages.length, scr, sco, eps: 1e-5, scale: 0.14 });
    arena.flush();
    meta.set([5, pos, 0, 0]);
    device.queue.writeBuffer(metaBuf, 0, meta);
  };
  for (const pos of [16, 128]) {
    setPos(pos);
    const whole: BenchFigure[] = [];
    // Interleaved, so both see the same load.
    const ts = {
      whole: { wall: [] as number[], cpu: [] as number[] },
      split: { wall: [] as number[], cpu: [] as number[] },
    };
    for (let r = 0; r < RUNS; r++) {
      for (const k of ['whole', 'split'] as const) {
        const t = await time(device, encoders[k], 3, 1);
        ts[k].wall.push(...t.wall);
        ts[k].cpu.push(...t.cpu);
      }
    }
    for (const k of ['whole', 'split'] as const) {
      const name = `stories15M f32 six decoder layers at position ${pos}, ${k === 'whole' ? 'one dispatch each' : `split over ${v.split} workgroups`}`;
      const f6 = figs(name, ts[k]);
      if (k === 'whole') whole.push(...f6);
      else {
        f6[0]!.baseline = whole[0]!.median;
        f6[0]!.ratio = f6[0]!.median / whole[0]!.median;
      }
      figures.push(...f6);
      console.log(`  ${k}: ${((6 * layerBytes) / 1e6 / f6[0]!.median).toFixed(2)} GB/s of weights`);
    }
  }

  // The classifier with argmax, and its merge.
  const lay = weightLayout('f32', SHAPE.vocab, SHAPE.dim);
  const nWg = Math.ceil(SHAPE.vocab / f.headRowsPerWg);
  const head = await cache.prepare(
    headArgmaxProgram({
      wtype: 'f32',
      wg: f.wg,
      dim: SHAPE.dim,
      final: nWg === 1,
      rpt: f.headRpt ?? f.rpt,
      xq: 'q8',
    }),
  );
  const uh = arena.alloc(headArgmaxUniforms).setAll({
    vocab: SHAPE.vocab,
    rowsPerWg: Math.ceil(SHAPE.vocab / nWg),
    nWg,
    wS: lay.scaleBase,
    eps: 1e-5,
  });
  const merge: CompiledProgram = await cache.prepare(argmaxMergeProgram({ wg: 64 }));
  const um = arena.alloc(argmaxMergeUniforms).setAll({ nWg, vocab: SHAPE.vocab });
  arena.flush();
  const best = storage(device, nWg * 8);
  const out = storage(device, 16);
  const dh = new Dispatch(
    head,
    bindGroup(device, head, {
      W: storage(device, randomWords(lay.words, 4)),
      ACT: xBuf,
      G: storage(device, new Float32Array(SHAPE.dim).fill(1)),
      IDX: storage(device, new Uint32Array(4)),
      LOGITS: storage(device, SHAPE.vocab * 4),
      BEST: best,
      OUT: out,
      P: arena.binding(uh),
    }),
  );
  const dm = new Dispatch(merge, bindGroup(device, merge, { BEST: best, OUT: out, P: arena.binding(um) }));
  const headFig = figs(
    `stories15M f32 classifier + argmax (${nWg} workgroups)`,
    await time(
      device,
      (p) => {
        dh.encode(p, nWg, 1);
        dm.encode(p, 1);
      },
      5,
    ),
  );
  figures.push(...headFig);
  console.log(`  ${((4 * lay.words) / 1e6 / headFig[0]!.median).toFixed(2)} GB/s of weights`);
  figures.push(...figs('empty submit (the floor of every figure above)', await time(device, () => {}, 20)));
  figures.push(...(await decodeRates(device, f)));
  figures.push(summarize('machine load average (1 min)', 'load', [before, loadavg()[0]!]));
  writeBench('fused-breakdown', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runFusedBreakdownBench();
  process.exit(0);
}
