// The CPU backend per weight type, at two real shapes (stories110M, TinyLlama-1.1B): decode and
// prefill tok/s, bytes of weights read per decoded token against the file size (the bandwidth
// floor), and peak memory (process RSS, wasm memory) against the file size. Each model is a
// synthetic GGUF on disk (quant-synth.ts) loaded in its own child process from a file source,
// so the peak RSS is that model's alone. Baseline in the same run: the CPU reference forward
// pass (float32, dequantized) for stories110M; TinyLlama's reference would need 4.4 GB of f32.
// llama.cpp native (node-llama-cpp, 1 thread, greedy; peers/node-llama-cpp.ts installs it on
// demand) runs every case on the same file as the row our figures are divided by; its prompt
// is text of about the same length (its own tokenizer counts it). EDGELM_NO_NATIVE=1 skips it.
// With EDGELM_BASELINE_SRC=<an older packages/sdk/src> (e.g. `git archive c60f2f1 packages/sdk/src`,
// the int8-widening CPU path), Q4_0/Q8_0 cases also run that code on the same file, in the same run.
//
//   node --import tsx packages/sdk/bench/cpu-quant.ts [--quick | tinyllama-1.1b:Q4_K_M …]

import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { openModel } from '../src/formats/open-model.js';
import { fileSource } from '../src/node/file-source.js';
import { ReferenceModel } from '../src/reference/forward.js';
import type { ShapeName } from '../src/synth/shapes.js';
import { runNodeLlamaCpp } from './peers/node-llama-cpp.js';
import { writeQuantSynth } from './quant-synth.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

interface ChildResult {
  fileBytes: number;
  wasmBytes: number;
  weightBytesPerToken: number;
  baseRss: number;
  peakRss: number;
  loadMs: number;
  prefill: number[];
  decode: number[];
  reference?: number[];
}

const PROMPT = 64;
const DECODE = 32;

type Sdk = {
  createCpuBackend: typeof createCpuBackend;
  openModel: typeof openModel;
  fileSource: typeof fileSource;
};

/** This SDK, or the one at `dir` (a baseline's src/): the same three entry points. */
async function sdkAt(dir: string | undefined): Promise<Sdk> {
  if (!dir) return { createCpuBackend, openModel, fileSource };
  const at = (f: string) => import(join(dir, f));
  return {
    createCpuBackend: (await at('backends/cpu/cpu-backend.ts')).createCpuBackend,
    openModel: (await at('formats/open-model.ts')).openModel,
    fileSource: (await at('node/file-source.ts')).fileSource,
  };
}

/** In the child: load `path` on the CPU backend, then time prefill and decode `runs` times. */
async function child(
  path: string,
  runs: number,
  withReference: boolean,
  sdkDir?: string,
): Promise<ChildResult> {
  const baseRss = process.memoryUsage().rss;
  const sdk = await sdkAt(sdkDir);
  const t0 = performance.now();
  const src = await sdk.fileSource(path);
  const model = await sdk.openModel(src);
  const pageCount = Math.ceil(model.config.contextLength / 16);
  const backend = await sdk.createCpuBackend(model, { pageSize: 16, pageCount });
  const loadMs = performance.now() - t0;
  const pages = Int32Array.from({ length: pageCount }, (_, i) => i);
  const prompt = Array.from({ length: PROMPT }, (_, i) => 3 + ((i * 37) % 200));
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let r = 0; r <= runs; r++) {
    let t = performance.now();
    await backend.forward([{ tokens: prompt, startPos: 0, pages }]);
    const p = (PROMPT * 1000) / (performance.now() - t);
    t = performance.now();
    for (let i = 0; i < DECODE; i++)
      await backend.forward([{ tokens: [5 + i], startPos: PROMPT + i, pages }]);
    const d = (DECODE * 1000) / (performance.now() - t);
    if (r > 0) {
      // the first pass warms the engine's tiers up
      prefill.push(p);
      decode.push(d);
    }
  }
  const result: ChildResult = {
    fileBytes: statSync(path).size,
    wasmBytes: backend.memoryBytes,
    weightBytesPerToken: backend.weightBytesPerToken ?? Number.NaN,
    baseRss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    loadMs,
    prefill,
    decode,
  };
  backend.dispose();
  if (withReference && !sdkDir) {
    const ref = await ReferenceModel.load(model, PROMPT + DECODE);
    const reference: number[] = [];
    for (let r = 0; r <= runs; r++) {
      for (let p = 0; p < 8; p++) ref.forward(3 + p, p);
      const t = performance.now();
      for (let i = 0; i < 8; i++) ref.forward(5 + i, 8 + i);
      if (r > 0) reference.push(8000 / (performance.now() - t));
    }
    result.reference = reference;
  }
  await src.close();
  return result;
}

const MB = 1e6;

/** About PROMPT tokens of English for llama.cpp's own tokenizer (the files carry llama2's vocab). */
const NATIVE_PROMPT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park ' +
  'with her friends and her big brown dog. One day, she saw a tall tree with red apples on it, ' +
  'and she wanted to climb it. Her mom said it was too high, so Lily asked her dad for help.';

/** llama.cpp native on the same file: its decode and prefill, and ours against them. */
async function nativeFigures(
  label: string,
  path: string,
  r: ChildResult,
  runs: number,
): Promise<BenchFigure[]> {
  if (process.env.EDGELM_NO_NATIVE) return [];
  const n = await runNodeLlamaCpp({
    modelPath: path,
    prompt: NATIVE_PROMPT,
    maxTokens: DECODE,
    threads: 1,
    runs,
  });
  if ('skipped' in n) {
    console.log(`  ${label} llama.cpp native: skipped (${n.skipped})`);
    return [];
  }
  const decode = summarize(`${label} llama.cpp native decode (1 thread)`, 'tok/s', n.decodeTokensPerSecond);
  const prefill = summarize(
    `${label} llama.cpp native prefill (1 thread)`,
    'tok/s',
    n.prefillTokensPerSecond,
  );
  return [
    decode,
    prefill,
    summarize(`${label} edgelm decode (vs llama.cpp native)`, 'tok/s', r.decode, decode.median),
    summarize(`${label} edgelm prefill (vs llama.cpp native)`, 'tok/s', r.prefill, prefill.median),
  ];
}

function figures(label: string, r: ChildResult, old?: ChildResult): BenchFigure[] {
  const ref = r.reference ? summarize(`${label} reference decode`, 'tok/s', r.reference) : undefined;
  const prev = old && {
    decode: summarize(`${label} baseline src decode`, 'tok/s', old.decode),
    prefill: summarize(`${label} baseline src prefill`, 'tok/s', old.prefill),
    rss: summarize(`${label} baseline src peak RSS (vs file)`, 'MB', [old.peakRss / MB], old.fileBytes / MB),
  };
  const base = prev ? prev.decode.median : ref?.median;
  const vs = prev ? ' (vs baseline src)' : ref ? ' (vs reference)' : '';
  const decode = summarize(`${label} decode${vs}`, 'tok/s', r.decode, base);
  const prefill = summarize(
    `${label} prefill (vs ${prev ? 'baseline src' : 'its decode'})`,
    'tok/s',
    r.prefill,
    prev ? prev.prefill.median : decode.median,
  );
  const one = (name: string, unit: string, v: number, base?: number) => summarize(name, unit, [v], base);
  return [
    ...(ref ? [ref] : []),
    ...(prev ? [prev.decode, prev.prefill, prev.rss] : []),
    decode,
    prefill,
    one(`${label} file`, 'MB', r.fileBytes / MB),
    one(`${label} weights read per token (vs file)`, 'MB', r.weightBytesPerToken / MB, r.fileBytes / MB),
    one(`${label} wasm memory (vs file)`, 'MB', r.wasmBytes / MB, r.fileBytes / MB),
    one(`${label} peak RSS (vs file)`, 'MB', r.peakRss / MB, r.fileBytes / MB),
    one(`${label} peak RSS - empty process (vs file)`, 'MB', (r.peakRss - r.baseRss) / MB, r.fileBytes / MB),
    one(`${label} load`, 'ms', r.loadMs),
  ];
}

const CASES: [ShapeName, string, boolean][] = [
  ['stories110M', 'Q4_K_M', true],
  ['stories110M', 'Q4_K', false],
  ['stories110M', 'Q5_K', false],
  ['stories110M', 'Q6_K', false],
  ['stories110M', 'Q8_0', false],
  ['stories110M', 'Q4_0', false],
  ['stories110M', 'Q3_K', false],
  ['stories110M', 'Q2_K', false],
  ['stories110M', 'IQ4_XS', false],
  ['stories110M', 'IQ4_NL', false],
  ['stories110M', 'Q5_0', false],
  ['stories110M', 'Q4_1', false],
  ['stories110M', 'Q5_1', false],
  ['stories110M', 'F16', false],
  ['stories110M', 'BF16', false],
  ['tinyllama-1.1b', 'Q4_K_M', false],
  ['tinyllama-1.1b', 'Q4_0', false],
];

/** `--quick`: two stories110M types; `shape:mix` arguments: those cases only. */
export async function runCpuQuantBench(argv = process.argv.slice(2)): Promise<BenchFigure[]> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`load average before: ${load()} (${availableParallelism()} cores)`);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const out: BenchFigure[] = [];
  const picked = argv.filter((a) => a.includes(':'));
  const cases = CASES.filter(([s, m]) =>
    picked.length
      ? picked.includes(`${s}:${m}`)
      : !argv.includes('--quick') || (s === 'stories110M' && ['Q4_K_M', 'Q8_0'].includes(m)),
  );
  for (const [shape, mix, withRef] of cases) {
    const path = join(tmpdir(), `edgelm-bench-${shape}-${mix}.gguf`);
    await writeQuantSynth(path, shape, mix);
    const run = (sdkDir = '') => {
      const json = execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--child',
          path,
          String(runs),
          String(withRef),
          sdkDir,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      return JSON.parse(json.trim().split('\n').at(-1)!) as ChildResult;
    };
    try {
      const baseline = process.env.EDGELM_BASELINE_SRC;
      const old = baseline && (mix === 'Q4_0' || mix === 'Q8_0') ? run(baseline) : undefined;
      const mine = run();
      const figs = [
        ...figures(`${shape} ${mix}`, mine, old),
        ...(await nativeFigures(`${shape} ${mix}`, path, mine, runs)),
      ];
      for (const f of figs)
        console.log(
          `  ${f.name}: ${f.median.toFixed(2)} ${f.unit}${f.ratio ? ` ×${f.ratio.toFixed(2)}` : ''}`,
        );
      out.push(...figs);
    } finally {
      rmSync(path, { force: true });
    }
  }
  console.log(`load average after: ${load()}`);
  writeBench('cpu-quant', out);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    const [path, runs, ref, sdkDir] = process.argv.slice(at + 1);
    console.log(JSON.stringify(await child(path!, Number(runs), ref === 'true', sdkDir || undefined)));
  } else await runCpuQuantBench();
}
