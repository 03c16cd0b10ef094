// Quantizer and dequantizer throughput per type (what `edgelm convert` and the CPU reference
// spend per weight), against Q8_0 measured in the same run.
//   node --import tsx packages/sdk/bench/quant.ts      (BENCH_RUNS, default 3)
import { GGMLType, SUPPORTED_TYPES, typeName } from '../src/formats/ggml-types.js';
import { dequantize, quantize } from '../src/formats/quant/index.js';
import { type BenchFigure, summarize, writeBench } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const N = 256 * 4096; // one million weights, a small model's matrix

function weights(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    let g = 0;
    for (let k = 0; k < 3; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      g += s / 2 ** 32 - 0.5;
    }
    x[i] = g * 0.04;
  }
  return x;
}

/** Million values per second of `fn` over `RUNS` timed runs after one warm-up. */
function rate(fn: () => unknown): number[] {
  fn();
  const out: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    fn();
    out.push(N / ((performance.now() - t0) * 1e3));
  }
  return out;
}

export async function runQuantBench(): Promise<BenchFigure[]> {
  const x = weights(N);
  const packed = new Map(SUPPORTED_TYPES.map((t) => [t, quantize(t, x)]));
  const out = new Float32Array(N);
  const q = new Map(SUPPORTED_TYPES.map((t) => [t, rate(() => quantize(t, x))]));
  const d = new Map(SUPPORTED_TYPES.map((t) => [t, rate(() => dequantize(t, packed.get(t)!, N, out))]));
  const median = (s: number[]) => summarize('', '', s).median;
  const qBase = median(q.get(GGMLType.Q8_0)!);
  const dBase = median(d.get(GGMLType.Q8_0)!);
  const figures: BenchFigure[] = [];
  for (const t of SUPPORTED_TYPES)
    figures.push(summarize(`quantize ${typeName(t)}`, 'M values/s', q.get(t)!, qBase));
  for (const t of SUPPORTED_TYPES)
    figures.push(summarize(`dequantize ${typeName(t)}`, 'M values/s', d.get(t)!, dBase));
  writeBench('quant', figures);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await runQuantBench();
