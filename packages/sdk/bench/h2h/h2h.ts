// `pnpm bench:h2h`: the fair head-to-head. Every peer runs the way its own documentation shows,
// on the same prompt, greedy, ≥128 tokens, in one headless Chromium on one WebGPU adapter
// (SwiftShader here), plus llama.cpp native in Node as the CPU ceiling. Every row's tokens (or
// text) are checked against the CPU reference's greedy continuation; a ✗ row is never ranked.
//
//   BENCH_RUNS=5 BENCH_TOKENS=128 BENCH_SLOW_RUNS=1 BENCH_H2H_MODELS=stories260K
//   BENCH_ONLY=engine,engine BENCH_BASELINE="label" BENCH_NO_INSTALL=1

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../../e2e/lib/chromium.js';
import { buildEntry } from '../../../../e2e/server/harness-build.js';
import { startTestServer } from '../../../../e2e/server/test-server.js';
import { convertToGgufBytes } from '../../src/formats/convert.js';
import { exportOnnx } from '../../src/formats/onnx/export.js';
import type { ModelFile } from '../../src/model/model-file.js';
import { syntheticModel } from '../../src/synth/synthetic-model.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { loadStories260K } from '../models.js';
import { type BenchFigure, writeBench } from '../report.js';
import { hfModelFolder } from './hf-folder.js';
import { ensurePeer, PEERS_DIR, runNative, TRANSFORMERS_VERSION } from './peers.js';
import { type GreedyReference, greedyReference } from './reference-greedy.js';
import type { H2hEngine, H2hResult, H2hSpec } from './spec.js';
import { checkOutput, figuresFor, h2hTable, type RowOutcome } from './verdict.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TOKENS = Math.max(128, Number(process.env.BENCH_TOKENS ?? 128));
const SLOW_RUNS = Number(process.env.BENCH_SLOW_RUNS ?? 1);
const ROW_TIMEOUT_MS = Number(process.env.BENCH_ROW_TIMEOUT_S ?? 900) * 1000;
const ONLY = process.env.BENCH_ONLY?.split(',');
const MODELS = process.env.BENCH_H2H_MODELS?.split(',');
const BASELINE = process.env.BENCH_BASELINE ?? 'wllama 1t';
const PROMPT = 'Once upon a time, there was a little girl named Lily. She';
const HERE = import.meta.dirname;

type Engine = H2hEngine | 'llamacpp-native';
interface Row {
  label: string;
  engine: Engine;
  threads: number;
  /** Runs on the emulated GPU through onnxruntime's WebGPU EP: ~1 tok/s on the larger shape. */
  slowOnLarge?: boolean;
}

const ROWS: Row[] = [
  { label: 'edgelm webgpu', engine: 'edgelm-webgpu', threads: 1 },
  { label: 'edgelm cpu (wasm)', engine: 'edgelm-cpu', threads: 1 },
  { label: 'edgelm onnx adapter (ort webgpu)', engine: 'edgelm-onnx-webgpu', threads: 1, slowOnLarge: true },
  { label: 'edgelm onnx adapter (ort wasm)', engine: 'edgelm-onnx-wasm', threads: 1 },
  { label: 'onnxruntime-web webgpu (IO binding)', engine: 'ort-webgpu', threads: 1, slowOnLarge: true },
  { label: 'onnxruntime-web wasm 1t', engine: 'ort-wasm', threads: 1 },
  { label: 'transformers.js webgpu', engine: 'tfjs-webgpu', threads: 1, slowOnLarge: true },
  { label: 'transformers.js wasm 1t', engine: 'tfjs-wasm', threads: 1 },
  { label: 'wllama 1t', engine: 'wllama', threads: 1 },
  { label: 'wllama 2t', engine: 'wllama', threads: 2 },
  { label: 'wllama 1t streaming', engine: 'wllama-stream', threads: 1 },
  // Both thread counts, as for wllama: on a 2-core machine two llama.cpp threads synchronise
  // at every op, and a model this small then decodes ~15× slower than on one (64–77 against
  // 962–1,339 tok/s for stories260K), so only the faster row is the CPU ceiling.
  { label: 'llama.cpp native 1t (node-llama-cpp)', engine: 'llamacpp-native', threads: 1 },
  { label: 'llama.cpp native 2t (node-llama-cpp)', engine: 'llamacpp-native', threads: 2 },
];

interface ModelCase {
  name: string;
  model: ModelFile;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** The transformers.js page and the onnxruntime-web build it ships with, or why not. */
async function transformersFiles(): Promise<Map<string, Uint8Array> | string> {
  const why = ensurePeer('@huggingface/transformers', TRANSFORMERS_VERSION);
  if (why) return why;
  try {
    const nm = join(PEERS_DIR, 'node_modules');
    const files = await buildEntry(join(HERE, 'transformers-page/h2h-transformers.ts'), 'h2h-transformers', [
      nm,
    ]);
    const ortDist = join(nm, 'onnxruntime-web/dist');
    for (const f of readdirSync(ortDist).filter((f) =>
      /^ort-wasm-simd-threaded\.asyncify\.(mjs|wasm)$/.test(f),
    )) {
      files.set(`/harness/peer-ort/${f}`, readFileSync(join(ortDist, f)));
    }
    return files;
  } catch (e) {
    return `its page does not bundle: ${(e as Error).message.split('\n')[0]}`;
  }
}

async function runInPage(browser: Browser, url: string, page: string, spec: H2hSpec): Promise<H2hResult> {
  const tab = await browser.newPage();
  let timer: NodeJS.Timeout | undefined;
  try {
    await tab.goto(`${url}/harness/${page}.html`);
    await tab.waitForFunction(() => typeof window.h2hRun === 'function');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ROW_TIMEOUT_MS / 1000} s`)), ROW_TIMEOUT_MS);
    });
    return await Promise.race([tab.evaluate((s) => window.h2hRun(s), spec), timeout]);
  } finally {
    clearTimeout(timer);
    await tab.close();
  }
}

async function runNativeRow(c: ModelCase, row: Row, runs: number): Promise<H2hResult | string> {
  const dir = join(tmpdir(), 'edgelm-h2h');
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, `${c.name}.gguf`);
  if (!existsSync(modelPath)) writeFileSync(modelPath, await convertToGgufBytes(c.model, 'f32'));
  const r = await runNative({ modelPath, prompt: PROMPT, maxTokens: TOKENS, threads: row.threads, runs });
  if ('skipped' in r) return r.skipped;
  return {
    prefill: r.prefillTokensPerSecond,
    decode: r.decodeTokensPerSecond,
    ttftMs: [],
    tokens: r.tokens,
    text: r.text,
    notes: `threads=${row.threads}`,
  };
}

async function runCase(
  browser: Browser,
  url: string,
  c: ModelCase,
  ref: GreedyReference,
  tfjs: boolean | string,
): Promise<RowOutcome[]> {
  const outcomes: RowOutcome[] = [];
  const tok = new Tokenizer(c.model.tokenizer);
  for (const row of ROWS) {
    if (ONLY && !ONLY.includes(row.engine)) continue;
    const slow = row.slowOnLarge && c.name !== 'stories260K';
    const runs = slow ? Math.min(RUNS, SLOW_RUNS) : RUNS;
    const t0 = performance.now();
    let r: H2hResult | string;
    if (row.engine === 'llamacpp-native') {
      r = await runNativeRow(c, row, runs).catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
    } else if (row.engine.startsWith('tfjs') && tfjs !== true) {
      r = String(tfjs);
    } else {
      const spec: H2hSpec = {
        engine: row.engine,
        model: c.name,
        prompt: PROMPT,
        promptTokens: ref.promptTokens,
        eos: c.model.tokenizer.eos,
        maxTokens: TOKENS,
        runs,
        warmupTokens: slow ? 4 : 16,
        threads: row.threads,
      };
      const page = row.engine.startsWith('tfjs') ? 'h2h-transformers' : 'h2h';
      r = await runInPage(browser, url, page, spec).catch(
        (e: Error) => `failed: ${e.message.split('\n')[0]}`,
      );
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    if (typeof r === 'string') {
      outcomes.push({ label: row.label, skipped: r });
      console.log(`${c.name} ${row.label}: skipped — ${r} (${secs} s)`);
      continue;
    }
    const text = r.text || (r.tokens ? tok.decode(r.tokens) : '');
    const verdict = checkOutput(ref, { tokens: r.tokens, text });
    const notes = `${r.notes}${runs < RUNS ? ` runs=${runs}` : ''}`;
    outcomes.push({
      label: row.label,
      prefill: r.prefill,
      decode: r.decode,
      ttftMs: r.ttftMs,
      verdict,
      notes,
    });
    console.log(
      `${c.name} ${row.label}: decode ${r.decode.map((x) => x.toFixed(1)).join(' ')} tok/s, ${verdict.ok ? '✓' : '✗'} ${verdict.detail} (${secs} s, load ${load()})`,
    );
  }
  return outcomes;
}

export async function runH2hBench(): Promise<BenchFigure[]> {
  const all: ModelCase[] = [
    { name: 'stories260K', model: await loadStories260K() },
    { name: 'stories15M-shape', model: syntheticModel('stories15M', 1) },
  ];
  const cases = all.filter((c) => !MODELS || MODELS.includes(c.name));
  console.log(`h2h: prompt ${JSON.stringify(PROMPT)}, ${TOKENS} tokens greedy, ${RUNS} runs; load ${load()}`);
  const files = await buildEntry(join(HERE, 'page/h2h.ts'), 'h2h');
  const wantTfjs = !ONLY || ONLY.some((e) => e.startsWith('tfjs'));
  const tf = wantTfjs ? await transformersFiles() : 'not selected';
  if (typeof tf !== 'string') for (const [k, v] of tf) files.set(k, v);
  const refs = new Map<string, GreedyReference>();
  for (const c of cases) {
    const onnx = await exportOnnx(c.model, { weights: 'f32' });
    for (const [rel, bytes] of hfModelFolder(onnx, c.model.tokenizer))
      files.set(`/harness/models/${c.name}/${rel}`, bytes);
    files.set(`/harness/models/${c.name}.gguf`, await convertToGgufBytes(c.model, 'f32'));
    const ref = await greedyReference(c.model, PROMPT, TOKENS);
    refs.set(c.name, ref);
    console.log(
      `${c.name}: reference ${ref.promptTokens.length} prompt tokens → ${ref.tokens.length} tokens`,
    );
  }
  const server = await startTestServer({ port: 0, files });
  const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_ARGS });
  const figures: BenchFigure[] = [];
  const table: string[] = [];
  const rowsJson: Record<string, unknown>[] = [];
  try {
    for (const c of cases) {
      const ref = refs.get(c.name)!;
      const before = load();
      const rows = await runCase(browser, server.url, c, ref, typeof tf === 'string' ? tf : true);
      figures.push(...figuresFor(c.name, rows, BASELINE));
      table.push(
        ...h2hTable(
          `${c.name}: prompt ${ref.promptTokens.length} tokens, greedy ${ref.tokens.length} tokens; load ${before} → ${load()}`,
          rows,
          BASELINE,
        ),
      );
      for (const r of rows) rowsJson.push({ model: c.name, ...r });
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(table.join('\n'));
  const file = writeBench('h2h', figures);
  writeFileSync(
    file.replace(/\.json$/, '-rows.json'),
    `${JSON.stringify({ prompt: PROMPT, tokens: TOKENS, runs: RUNS, baseline: BASELINE, loadavg: loadavg(), rows: rowsJson }, null, 2)}\n`,
  );
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runH2hBench();
