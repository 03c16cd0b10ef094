// The pure half of the head-to-head: is a row's greedy output the reference's, and the table
// of medians and ratios against one named baseline row, where a wrong row is never ranked.
import { type BenchFigure, summarize } from '../report.js';

/** What a row generated, as its engine reports it: token ids where it gives them, text always. */
export interface RowOutput {
  tokens?: number[];
  text: string;
}

export interface Verdict {
  ok: boolean;
  /** "tokens 128/128", "text diverges at char 57", … */
  detail: string;
}

/**
 * Token ids are compared where the row has them (exactly: same ids, same count); a row that only
 * gives text is compared on text, ignoring leading whitespace (a prompt that ends in a word leaves
 * the space before the continuation to either side of the split, depending on the engine).
 */
export function checkOutput(ref: { tokens: number[]; text: string }, out: RowOutput): Verdict {
  if (out.tokens) {
    const n = Math.min(ref.tokens.length, out.tokens.length);
    let i = 0;
    while (i < n && ref.tokens[i] === out.tokens[i]) i++;
    if (i === ref.tokens.length && i === out.tokens.length) return { ok: true, detail: `tokens ${i}/${i}` };
    if (i === n)
      return {
        ok: false,
        detail: `${out.tokens.length} tokens where the reference has ${ref.tokens.length}`,
      };
    return { ok: false, detail: `token ${i} is ${out.tokens[i]}, reference ${ref.tokens[i]}` };
  }
  const a = ref.text.trimStart();
  const b = out.text.trimStart();
  if (a === b) return { ok: true, detail: `text ${b.length} chars` };
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return {
    ok: false,
    detail: `text diverges at char ${i} of ${a.length}: ${JSON.stringify(b.slice(i, i + 16))}`,
  };
}

/** One row's samples (one per run) and verdict. */
export interface RowMeasure {
  label: string;
  prefill: number[];
  decode: number[];
  ttftMs: number[];
  verdict: Verdict;
  notes: string;
}

/** A row that did not run: its reason is printed in place of figures. */
export interface RowSkip {
  label: string;
  skipped: string;
}

export type RowOutcome = RowMeasure | RowSkip;

const isSkip = (r: RowOutcome): r is RowSkip => 'skipped' in r;

/** Median and spread of each figure; ratios against `baseline` only for correct rows against a correct baseline. */
export function figuresFor(caseName: string, rows: RowOutcome[], baseline: string): BenchFigure[] {
  const base = rows.find((r): r is RowMeasure => !isSkip(r) && r.label === baseline && r.verdict.ok);
  const baseMedian = (pick: (r: RowMeasure) => number[]) =>
    base ? summarize('', '', pick(base)).median : undefined;
  const out: BenchFigure[] = [];
  for (const r of rows) {
    if (isSkip(r)) continue;
    const ranked = r.verdict.ok;
    const name = `${caseName} ${r.label}`;
    const series: [string, string, (x: RowMeasure) => number[]][] = [
      ['prefill', 'tok/s', (x) => x.prefill],
      ['decode', 'tok/s', (x) => x.decode],
      ['ttft', 'ms', (x) => x.ttftMs],
    ];
    // A figure a row does not report (llama.cpp native gives no TTFT) is left out, not written as NaN.
    for (const [what, unit, pick] of series) {
      if (pick(r).length === 0) continue;
      const b = ranked && base && pick(base).length ? baseMedian(pick) : undefined;
      out.push(summarize(`${name} ${what}`, unit, pick(r), b));
    }
  }
  return out;
}

const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** The printed table of one model case: median [min–max] per figure, ✓/✗, decode × baseline, sorted by decode among ✓ rows. */
export function h2hTable(title: string, rows: RowOutcome[], baseline: string): string[] {
  const figs = new Map<string, { prefill: BenchFigure; decode: BenchFigure; ttft: BenchFigure }>();
  for (const r of rows) {
    if (isSkip(r)) continue;
    figs.set(r.label, {
      prefill: summarize('', '', r.prefill),
      decode: summarize('', '', r.decode),
      ttft: summarize('', '', r.ttftMs),
    });
  }
  const base = rows.find((r): r is RowMeasure => !isSkip(r) && r.label === baseline);
  const baseDecode = base?.verdict.ok ? figs.get(base.label)?.decode.median : undefined;
  const rank = (r: RowOutcome) =>
    isSkip(r) ? -2 : r.verdict.ok ? (figs.get(r.label)?.decode.median ?? 0) : -1;
  const sorted = [...rows].sort((a, b) => rank(b) - rank(a));
  const w = Math.max(6, ...rows.map((r) => r.label.length)) + 2;
  const lines = [
    `\n${title} (ratios vs "${baseline}"${baseDecode === undefined ? ': baseline missing or wrong, no ratios' : ''})`,
    `  ${'engine'.padEnd(w)}${'decode tok/s [min–max]'.padEnd(26)}${'prefill tok/s'.padEnd(15)}${'TTFT ms'.padEnd(10)}${'n'.padEnd(3)}${'decode ×'.padEnd(10)}check`,
  ];
  for (const r of sorted) {
    if (isSkip(r)) {
      lines.push(`  ${r.label.padEnd(w)}skipped: ${r.skipped}`);
      continue;
    }
    const g = figs.get(r.label)!;
    const ratio = r.verdict.ok && baseDecode ? `×${f(g.decode.median / baseDecode, 2)}` : '—';
    lines.push(
      `  ${r.label.padEnd(w)}${`${f(g.decode.median)} [${f(g.decode.min)}–${f(g.decode.max)}]`.padEnd(26)}` +
        `${f(g.prefill.median).padEnd(15)}${f(g.ttft.median).padEnd(10)}${String(g.decode.runs).padEnd(3)}${ratio.padEnd(10)}` +
        `${r.verdict.ok ? '✓' : '✗'} ${r.verdict.detail}${r.notes ? `  ${r.notes}` : ''}`,
    );
  }
  return lines;
}
