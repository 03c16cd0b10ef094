// Head-to-head in one headless Chromium, one WebGPU adapter (SwiftShader here): edgelm WebGPU,
// onnxruntime-web webgpu and wasm, wllama (llama.cpp in wasm, 1 and 2 threads), edgelm's CPU
// backend and the CPU reference — prefill tok/s, decode tok/s and TTFT on stories260K and a
// synthetic stories15M-shaped model. onnxruntime-web `webgpu` is the baseline of every ratio.
//
//   node --import tsx packages/sdk/bench/compare.ts      (BENCH_RUNS, BENCH_ONLY=engine,engine,
//   BENCH_MODELS=stories260K, BENCH_SETTLE_MS=5000 between rows)

import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumExecutable } from '../../../e2e/lib/chromium.js';
import { buildHarness } from '../../../e2e/server/harness-build.js';
import { startTestServer } from '../../../e2e/server/test-server.js';
import { convertToGgufBytes } from '../src/formats/convert.js';
import { exportOnnx } from '../src/formats/onnx/export.js';
import type { ModelFile } from '../src/model/model-file.js';
import { syntheticModel } from '../src/synth/synthetic-model.js';
import type { CompareResult, CompareSpec } from './browser/measure.js';
import { loadStories260K } from './models.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ONLY = process.env.BENCH_ONLY?.split(',');
const MODELS = process.env.BENCH_MODELS?.split(',');
const HERE = import.meta.dirname;
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 5000);

interface Row {
  label: string;
  engine: CompareSpec['engine'];
  threads: number;
  temperature?: number;
  singleStep?: boolean;
  rawForward?: boolean;
  floatArithmetic?: boolean;
}

const ROWS: Row[] = [
  { label: 'onnxruntime-web webgpu', engine: 'ort-webgpu', threads: 1 },
  { label: 'edgelm webgpu', engine: 'edgelm-webgpu', threads: 1 },
  { label: 'edgelm webgpu t=0.8', engine: 'edgelm-webgpu', threads: 1, temperature: 0.8 },
  // The cost of llama.cpp's arithmetic (f16 cache, int8 inputs), the default, against float.
  { label: 'edgelm webgpu float arith.', engine: 'edgelm-webgpu', threads: 1, floatArithmetic: true },
  { label: 'edgelm webgpu 1 tok/step', engine: 'edgelm-webgpu', threads: 1, singleStep: true },
  { label: 'edgelm webgpu forward()', engine: 'edgelm-webgpu', threads: 1, rawForward: true },
  { label: 'onnxruntime-web wasm 1t', engine: 'ort-wasm', threads: 1 },
  { label: 'onnxruntime-web wasm 2t', engine: 'ort-wasm', threads: 2 },
  { label: 'wllama 1t', engine: 'wllama', threads: 1 },
  { label: 'wllama 2t', engine: 'wllama', threads: 2 },
  { label: 'edgelm cpu', engine: 'edgelm-cpu', threads: 1 },
  { label: 'cpu reference', engine: 'reference', threads: 1 },
];

interface ModelCase {
  name: string;
  model: ModelFile;
  prompt: number;
  decode: number;
}

function ggufBytes(model: ModelFile): Promise<Uint8Array> {
  return convertToGgufBytes(model, 'f32');
}

/** Page bundles plus every model in both formats, served from memory. */
async function buildFiles(
  cases: ModelCase[],
): Promise<{ files: Map<string, Uint8Array>; webgpuPage: boolean }> {
  const files = await buildHarness(join(HERE, 'browser/compare-page'));
  let webgpuPage = false;
  if (existsSync(resolve(HERE, '../src/backends/webgpu/index.ts'))) {
    try {
      for (const [k, v] of await buildHarness(join(HERE, 'browser/compare-webgpu-page'))) files.set(k, v);
      webgpuPage = true;
    } catch (e) {
      console.log(
        `edgelm webgpu row skipped: its page does not build (${(e as Error).message.split('\n')[0]})`,
      );
    }
  } else {
    console.log('edgelm webgpu row skipped: packages/sdk/src/backends/webgpu/index.ts does not exist yet');
  }
  for (const c of cases) {
    files.set(`/harness/data/${c.name}.gguf`, await ggufBytes(c.model));
    files.set(`/harness/data/${c.name}.onnx`, (await exportOnnx(c.model, { weights: 'f32' })).model);
  }
  return { files, webgpuPage };
}

async function runRow(
  browser: Browser,
  url: string,
  page: string,
  spec: CompareSpec,
): Promise<CompareResult> {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${url}/harness/${page}.html`);
    await tab.waitForFunction(() => typeof window.compareRun === 'function');
    return await tab.evaluate((s) => window.compareRun(s), spec);
  } finally {
    await tab.close();
    // The emulated GPU shares the CPU: let the GPU process finish what the closed tab left
    // queued (onnxruntime-web's rows leave seconds of it) before the next row is timed.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '—' : x.toFixed(digits));

export async function runCompareBench(): Promise<BenchFigure[]> {
  const cases: ModelCase[] = [
    { name: 'stories260K', model: await loadStories260K(), prompt: 32, decode: 64 },
    { name: 'stories15M-shape', model: syntheticModel('stories15M', 1), prompt: 16, decode: 16 },
  ].filter((c) => !MODELS || MODELS.includes(c.name));
  const { files, webgpuPage } = await buildFiles(cases);
  const server = await startTestServer({ port: 0, files });
  const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_ARGS });
  const figures: BenchFigure[] = [];
  const table: string[] = [];
  try {
    for (const c of cases) {
      const medians = new Map<string, { prefill: number; decode: number; ttft: number; notes: string }>();
      for (const row of ROWS) {
        if (ONLY && !ONLY.includes(row.engine)) continue;
        if (row.engine === 'edgelm-webgpu' && !webgpuPage) continue;
        // The GPU-emulated onnxruntime-web rows are slow enough that fewer steps say as much.
        const slow = row.engine === 'ort-webgpu' && c.name !== 'stories260K';
        const spec: CompareSpec = {
          engine: row.engine,
          model: c.name,
          threads: row.threads,
          prompt: c.prompt,
          decode: slow ? 8 : c.decode,
          runs: slow ? Math.min(RUNS, 2) : RUNS,
          temperature: row.temperature,
          singleStep: row.singleStep,
          rawForward: row.rawForward,
          floatArithmetic: row.floatArithmetic,
        };
        const page = row.engine === 'edgelm-webgpu' ? 'compare-webgpu' : 'compare';
        let r: CompareResult;
        try {
          r = await runRow(browser, server.url, page, spec);
        } catch (e) {
          console.log(`${c.name} ${row.label}: failed — ${(e as Error).message.split('\n')[0]}`);
          continue;
        }
        const base = medians.get('onnxruntime-web webgpu');
        const name = `${c.name} ${row.label}`;
        const prefill = summarize(`${name} prefill`, 'tok/s', r.prefill, base?.prefill);
        const decode = summarize(`${name} decode`, 'tok/s', r.decode, base?.decode);
        const ttft = summarize(`${name} ttft`, 'ms', r.ttftMs, base?.ttft);
        figures.push(prefill, decode, ttft);
        let notes = r.notes;
        if (r.pairedGreedyDecode) {
          const ratios = r.decode.map((d, i) => d / r.pairedGreedyDecode![i]!);
          const paired = summarize(`${name} decode / paired greedy`, 'ratio', ratios);
          figures.push(paired);
          notes = `×${fmt(paired.median, 2)} of greedy runs paired with it; ${notes}`;
        }
        medians.set(row.label, {
          prefill: prefill.median,
          decode: decode.median,
          ttft: ttft.median,
          notes,
        });
        console.log(`${name}: decode ${fmt(decode.median)} tok/s ${r.notes}`);
      }
      const base = medians.get('onnxruntime-web webgpu');
      table.push(
        `\n${c.name} (prompt ${c.prompt}, decode ${c.decode}; ratios vs onnxruntime-web webgpu)`,
        `  ${'engine'.padEnd(26)}${'prefill tok/s'.padStart(15)}${'decode tok/s'.padStart(14)}${'TTFT ms'.padStart(10)}${'decode ×'.padStart(10)}${'TTFT ×'.padStart(9)}  notes`,
      );
      for (const [label, m] of medians) {
        table.push(
          `  ${label.padEnd(26)}${fmt(m.prefill).padStart(15)}${fmt(m.decode).padStart(14)}${fmt(m.ttft).padStart(10)}` +
            `${fmt(base && m.decode / base.decode, 2).padStart(10)}${fmt(base && m.ttft / base.ttft, 2).padStart(9)}  ${m.notes}`,
        );
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(table.join('\n'));
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  writeBench('compare', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runCompareBench();
