// `pnpm bench:gpu`: decode and prefill throughput, TTFT of a long prompt, and achieved memory
// bandwidth (weight bytes per token × tok/s) against the adapter's measured bandwidth, for a
// stories110M, a Qwen2.5-0.5B and a Llama-3.2-1B shape in llama.cpp's Q4_K_M and Q8_0 mixes,
// on Dawn in Node and in headless Chromium when it is installed. Writes bench-results/gpu.json
// after every row (a run cut short keeps what it measured).
//
//   pnpm bench:gpu [--models …] [--types …] [--runtimes node,chromium] [--tokens N] [--prompt N] [--all]

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../src/formats/open-model.js';
import { fileSource } from '../../src/node/file-source.js';
import { type BenchFigure, summarize } from '../report.js';
import type { AdapterReport } from './adapter.js';
import { bytesPerToken, type TokenBytes } from './bytes.js';
import type { MeasureResult, MeasureSpec } from './measure.js';
import { type GpuBenchOptions, parseGpuBenchArgs, type RuntimeName, resolveOptions } from './options.js';
import { startNodeRuntime } from './runtime-node.js';
import { synthesize } from './synth.js';

const MIB = 1024 * 1024;

interface Runtime {
  adapter: AdapterReport;
  row(file: string, spec: MeasureSpec): Promise<MeasureResult & { loadSeconds: number }>;
  close(): unknown;
}

export interface GpuRow {
  model: string;
  like: string;
  type: string;
  runtime: RuntimeName;
  fileBytes: number;
  bytes: TokenBytes;
  loadSeconds: number;
  decodeTokS: number;
  decodeTokens: number[];
  prefillTokS: number;
  ttftMs: number;
  ttftPrompt: number;
  achievedGBps: number;
  /** Achieved / the runtime's measured read bandwidth. */
  ofMeasured?: number;
  ofDatasheet?: number;
  raw: MeasureResult;
}

const median = (xs: number[]) => summarize('', '', xs.length ? xs : [Number.NaN]).median;

function printAdapter(name: string, a: AdapterReport): void {
  console.log(`\n${name} adapter: ${a.vendor} ${a.architecture} ${a.device} "${a.description}"`);
  console.log(`  CPU-emulated: ${a.cpuLike}; enabled: ${a.enabled.join(', ') || '—'}`);
  console.log(`  features: ${a.features.join(', ')}`);
  console.log(
    `  limits: ${Object.entries(a.limits)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  const bw = a.bandwidth;
  if (bw) {
    console.log(
      `  bandwidth (measured, ${(bw.bufferBytes / MIB).toFixed(0)} MiB, ${bw.workgroups} workgroups): ` +
        `read ${bw.readGBps.toFixed(1)} GB/s${bw.verified ? '' : ' (SUM MISMATCH: not every byte read)'}, ` +
        `copy ${bw.copyGBps.toFixed(1)} GB/s (read+write)`,
    );
  }
  if (a.datasheet) console.log(`  datasheet (not measured): ${a.datasheet.part} ${a.datasheet.gbps} GB/s`);
}

function table(rows: GpuRow[]): string {
  const head = [
    'model',
    'type',
    'runtime',
    'decode tok/s',
    'prefill tok/s',
    'TTFT ms',
    'MiB/token',
    'GB/s',
    '% meas.',
    '% sheet',
    'load s',
  ];
  const cells = rows.map((r) => [
    r.model,
    r.type,
    r.runtime,
    r.decodeTokS.toFixed(2),
    r.prefillTokS.toFixed(1),
    `${r.ttftMs.toFixed(0)} (${r.ttftPrompt})`,
    (r.bytes.perToken / MIB).toFixed(1),
    r.achievedGBps.toFixed(2),
    r.ofMeasured === undefined ? '—' : `${(100 * r.ofMeasured).toFixed(1)}`,
    r.ofDatasheet === undefined ? '—' : `${(100 * r.ofDatasheet).toFixed(1)}`,
    r.loadSeconds.toFixed(1),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i < 3 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

function figures(rows: GpuRow[]): BenchFigure[] {
  const out: BenchFigure[] = [];
  for (const r of rows) {
    const n = `${r.model} ${r.type} ${r.runtime}`;
    out.push(
      summarize(`${n} decode`, 'tok/s', r.raw.decodeTokS),
      summarize(`${n} prefill ${r.ttftPrompt} tokens`, 'tok/s', r.raw.prefillTokS),
      summarize(`${n} TTFT ${r.ttftPrompt} tokens`, 'ms', r.raw.ttftMs),
      summarize(`${n} achieved bandwidth`, 'GB/s', [r.achievedGBps]),
    );
  }
  return out;
}

export async function runGpuBench(argv: string[] = []): Promise<GpuRow[]> {
  const args = parseGpuBenchArgs(argv);
  const load0 = loadavg();
  const node = await startNodeRuntime();
  const o: GpuBenchOptions = resolveOptions(args, node.adapter.cpuLike, process.cwd());
  printAdapter('node (Dawn)', node.adapter);
  for (const n of o.notes) console.log(`note: ${n}`);
  const spec = (vocab: number): MeasureSpec => ({
    decodeTokens: o.decodeTokens,
    shortPrompt: o.shortPrompt,
    ttftPrompt: o.ttftPrompt,
    decodeRuns: o.decodeRuns,
    ttftRuns: o.ttftRuns,
    vocab,
  });

  const runtimes = new Map<RuntimeName, Runtime>();
  if (o.runtimes.includes('node')) runtimes.set('node', node);
  const skipped: string[] = [];
  const rows: GpuRow[] = [];
  const synth: { file: string; bytes: number; writeSeconds: number }[] = [];
  const write = () => {
    mkdirSync(o.outDir, { recursive: true });
    const adapters = Object.fromEntries([...runtimes].map(([k, v]) => [k, v.adapter]));
    const json = {
      date: new Date().toISOString(),
      node: process.version,
      loadavg: { before: load0, now: loadavg() },
      options: { ...o, models: o.models.map((m) => m.name) },
      adapters: { node: node.adapter, ...adapters },
      synth,
      skipped,
      rows,
      figures: figures(rows),
    };
    writeFileSync(join(o.outDir, 'gpu.json'), `${JSON.stringify(json, null, 2)}\n`);
  };

  try {
    if (o.runtimes.includes('chromium')) {
      try {
        // Loaded on demand: Playwright and the page bundler are not needed for a Dawn-only run
        // (the device script's bundle leaves this module out).
        const { chromiumMissing, startChromiumRuntime } = await import('./runtime-chromium.js');
        const missing = chromiumMissing();
        if (missing) skipped.push(`chromium: ${missing}`);
        else {
          const c = await startChromiumRuntime(o.cacheDir, node.adapter.cpuLike);
          runtimes.set('chromium', c);
          printAdapter('chromium', c.adapter);
        }
      } catch (e) {
        skipped.push(`chromium: did not start (${(e as Error).message.split('\n')[0]})`);
      }
    }
    for (const s of skipped) console.log(`skipped ${s}`);
    for (const shape of o.models) {
      for (const type of o.types) {
        const f = await synthesize(shape, type, o.cacheDir);
        synth.push({ file: f.path, bytes: f.bytes, writeSeconds: f.writeSeconds });
        console.log(
          `\n${shape.name} ${type}: ${(f.bytes / MIB).toFixed(0)} MiB ` +
            (f.writeSeconds ? `synthesized in ${f.writeSeconds.toFixed(1)} s` : '(cached)'),
        );
        const src = await fileSource(f.path);
        const bytes = bytesPerToken((await openModel(src)).tensors);
        await src.close();
        for (const [name, rt] of runtimes) {
          if (name === 'chromium' && !o.chromiumModels.includes(shape.name)) continue;
          let raw: MeasureResult & { loadSeconds: number };
          try {
            raw = await rt.row(f.path, spec(shape.vocab));
          } catch (e) {
            const why = `${shape.name} ${type} ${name}: failed (${(e as Error).message.split('\n')[0]})`;
            skipped.push(why);
            console.log(why);
            continue;
          }
          const decodeTokS = median(raw.decodeTokS);
          const achievedGBps = (bytes.perToken * decodeTokS) / 1e9;
          const bw = rt.adapter.bandwidth;
          const row: GpuRow = {
            model: shape.name,
            like: shape.like,
            type,
            runtime: name,
            fileBytes: f.bytes,
            bytes,
            loadSeconds: raw.loadSeconds,
            decodeTokS,
            decodeTokens: raw.decodeCounts,
            prefillTokS: median(raw.prefillTokS),
            ttftMs: median(raw.ttftMs),
            ttftPrompt: o.ttftPrompt,
            achievedGBps,
            ofMeasured: bw?.verified ? achievedGBps / bw.readGBps : undefined,
            ofDatasheet: rt.adapter.datasheet ? achievedGBps / rt.adapter.datasheet.gbps : undefined,
            raw,
          };
          rows.push(row);
          const short = raw.decodeCounts.some((c) => c < o.decodeTokens) ? ' (a run stopped early)' : '';
          console.log(
            `  ${name}: decode ${decodeTokS.toFixed(2)} tok/s${short}, prefill ${row.prefillTokS.toFixed(1)} tok/s, ` +
              `TTFT ${row.ttftMs.toFixed(0)} ms @${o.ttftPrompt}, ${achievedGBps.toFixed(2)} GB/s, load ${raw.loadSeconds.toFixed(1)} s` +
              (raw.reused ? ` (WARNING: ${raw.reused} prompt tokens from the prefix cache)` : ''),
          );
          write();
        }
      }
    }
  } finally {
    for (const rt of runtimes.values()) if (rt !== node) await rt.close();
    node.close();
  }
  console.log(
    `\ngpu (decode ${o.decodeTokens} tokens after a ${o.shortPrompt}-token prompt, median of ${o.decodeRuns}; ` +
      `TTFT/prefill of a ${o.ttftPrompt}-token prompt, median of ${o.ttftRuns}; GB/s = weight bytes per token × decode tok/s; ` +
      `% of the runtime's measured read bandwidth and of the datasheet's)`,
  );
  console.log(table(rows));
  for (const s of skipped) console.log(`skipped ${s}`);
  for (const n of o.notes) console.log(`note: ${n}`);
  console.log(
    `load average: ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} after`,
  );
  write();
  console.log(`  → ${join(o.outDir, 'gpu.json')}`);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runGpuBench(process.argv.slice(2));
  process.exit(0);
}
