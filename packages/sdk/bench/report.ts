import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured figure, as every benchmark of the project writes it. */
export interface BenchFigure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Median of the baseline measured in the same run, when there is one. */
  baseline?: number;
  /** median / baseline (for rates: how many times faster). */
  ratio?: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Median, min and max of samples. */
export function summarize(name: string, unit: string, samples: number[], baseline?: number): BenchFigure {
  const s = [...samples].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const fig: BenchFigure = { name, unit, median, min: s[0]!, max: s[s.length - 1]!, runs: s.length };
  if (baseline !== undefined && baseline !== 0) {
    fig.baseline = baseline;
    fig.ratio = median / baseline;
  }
  return fig;
}

/** Prints a figure table and writes `bench-results/<bench>.json` at the repository root. */
export function writeBench(bench: string, figures: BenchFigure[]): string {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${bench}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  const w = Math.max(...figures.map((f) => f.name.length));
  console.log(`\n${bench}`);
  for (const f of figures) {
    const ratio = f.ratio === undefined ? '' : `  ×${f.ratio.toFixed(2)} vs ${f.baseline!.toFixed(2)}`;
    console.log(
      `  ${f.name.padEnd(w)}  ${f.median.toFixed(2).padStart(10)} ${f.unit}  (min ${f.min.toFixed(2)}, max ${f.max.toFixed(2)}, n=${f.runs})${ratio}`,
    );
  }
  console.log(`  → ${file}`);
  return file;
}
