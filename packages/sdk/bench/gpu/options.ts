// Command-line options of `pnpm bench:gpu`, and the defaults that depend on the adapter: a
// real GPU runs every shape at full length, a CPU emulation (SwiftShader) the two small shapes
// with short runs, so a run here ends in minutes. Every default is overridable.

import { parseArgs } from 'node:util';
import { FILE_TYPES, type FileType } from '../../src/formats/type-mix.js';
import { BENCH_SHAPES, BENCH_TYPES, type BenchShape, benchShape } from './shapes.js';

export type RuntimeName = 'node' | 'chromium';

export interface GpuBenchOptions {
  models: BenchShape[];
  /** The models Chromium runs (all of them, except on a CPU emulation). */
  chromiumModels: string[];
  types: FileType[];
  runtimes: RuntimeName[];
  decodeTokens: number;
  shortPrompt: number;
  ttftPrompt: number;
  decodeRuns: number;
  ttftRuns: number;
  cacheDir: string;
  outDir: string;
  /** Why each default left something out (printed, and kept in the JSON). */
  notes: string[];
}

export const USAGE = `pnpm bench:gpu [--models stories110M,qwen2.5-0.5b,llama3.2-1b] [--types q4_k_m,q8_0]
  [--runtimes node,chromium] [--tokens N] [--prompt N] [--runs N] [--ttft-runs N]
  [--cache DIR] [--out DIR] [--all]`;

function list<T extends string>(
  v: string | undefined,
  ok: (s: string) => s is T,
  what: string,
): T[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').filter(Boolean);
  for (const i of items) if (!ok(i)) throw new RangeError(`Unknown ${what} "${i}"\n${USAGE}`);
  return items as T[];
}

function count(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} takes a positive integer, not "${v}"`);
  return n;
}

export interface ParsedArgs {
  models?: BenchShape[];
  types?: FileType[];
  runtimes?: RuntimeName[];
  tokens?: number;
  prompt?: number;
  runs?: number;
  ttftRuns?: number;
  cache?: string;
  out?: string;
  all: boolean;
}

export function parseGpuBenchArgs(argv: string[]): ParsedArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      models: { type: 'string' },
      types: { type: 'string' },
      runtimes: { type: 'string' },
      tokens: { type: 'string' },
      prompt: { type: 'string' },
      runs: { type: 'string' },
      'ttft-runs': { type: 'string' },
      cache: { type: 'string' },
      out: { type: 'string' },
      all: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const isShape = (s: string): s is string => benchShape(s) !== undefined;
  const isType = (s: string): s is FileType => (FILE_TYPES as readonly string[]).includes(s);
  const isRuntime = (s: string): s is RuntimeName => s === 'node' || s === 'chromium';
  return {
    models: list(values.models, isShape, 'model')?.map((m) => benchShape(m)!),
    types: list(values.types?.toLowerCase(), isType, 'type'),
    runtimes: list(values.runtimes, isRuntime, 'runtime'),
    tokens: count(values.tokens, 'tokens'),
    prompt: count(values.prompt, 'prompt'),
    runs: count(values.runs, 'runs'),
    ttftRuns: count(values['ttft-runs'], 'ttft-runs'),
    cache: values.cache,
    out: values.out,
    all: values.all ?? false,
  };
}

/**
 * Options for an adapter: everything on a GPU. A CPU emulation (SwiftShader: ~0.5 GB/s loads,
 * a stories110M token in seconds) gets the two small shapes in Q4_K_M, short runs and a short
 * TTFT prompt, and Chromium the smallest shape only, so a run ends in minutes.
 */
export function resolveOptions(a: ParsedArgs, cpuLike: boolean, root: string): GpuBenchOptions {
  const notes: string[] = [];
  const small = cpuLike && !a.all;
  const why = 'CPU-emulated adapter';
  let models = a.models;
  if (!models) {
    models = small ? BENCH_SHAPES.filter((s) => s.name !== 'llama3.2-1b') : [...BENCH_SHAPES];
    if (small) notes.push(`llama3.2-1b skipped: ${why} (--all or --models llama3.2-1b runs it)`);
  }
  let types = a.types;
  if (!types) {
    types = small ? ['q4_k_m'] : [...BENCH_TYPES];
    if (small) notes.push(`Q4_K_M only: ${why} (--types q4_k_m,q8_0)`);
  }
  const ttftPrompt = a.prompt ?? (small ? 32 : 1024);
  if (small && a.prompt === undefined) notes.push(`TTFT prompt 32 tokens, not 1024: ${why} (--prompt 1024)`);
  const decodeTokens = a.tokens ?? (small ? 8 : 128);
  if (small && a.tokens === undefined) notes.push(`${decodeTokens} decode tokens per run: ${why} (--tokens)`);
  const chromiumModels = small && !a.models ? [models[0]!.name] : models.map((m) => m.name);
  if (small && !a.models) notes.push(`chromium runs ${chromiumModels[0]} only: ${why} (--models)`);
  return {
    models,
    chromiumModels,
    types,
    runtimes: a.runtimes ?? ['node', 'chromium'],
    decodeTokens,
    shortPrompt: 16,
    ttftPrompt,
    decodeRuns: a.runs ?? (small ? 2 : 5),
    ttftRuns: a.ttftRuns ?? (small ? 1 : 3),
    cacheDir: a.cache ?? `${root}/bench-results/.models`,
    outDir: a.out ?? `${root}/bench-results`,
    notes,
  };
}
