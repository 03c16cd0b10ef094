import '../styles/base.css';
import '../styles/layout.css';
import '../styles/panels.css';
import '../styles/bench.css';
import { defaultChoice, fetchEnv, localModels } from '../engine/models.js';
import { h, replace } from '../lib/dom.js';
import { formatMs, formatRate } from '../lib/format.js';
import { chip, initTheme, networkChip, topbar } from '../ui/topbar.js';
import {
  type BenchModel,
  type BenchPlan,
  type BenchRow,
  figures,
  runPlan,
  storiesModel,
  summarize,
  synthetic15M,
} from './cases.js';
import { barChart, type ChartGroup, SERIES_COLORS } from './chart.js';

initTheme();
const query = new URLSearchParams(location.search);
const top = topbar('bench');
const status = h('span');
top.chips.append(status, networkChip());

const hasGpu = 'gpu' in navigator && (await navigator.gpu.requestAdapter().catch(() => null)) !== null;
const env = await fetchEnv();
const stories = defaultChoice(localModels(env));
const MODELS: BenchModel[] = [storiesModel(String(stories.model), String(stories.tokenizer)), synthetic15M];

const check = (label: string, value: string, on: boolean, disabled = false) =>
  h('label', { class: 'check' }, h('input', { type: 'checkbox', value, checked: on, disabled }), label);
const wanted = query.get('models')?.split(',');
const modelChecks = MODELS.map((m) => check(m.label, m.id, wanted ? wanted.includes(m.id) : true));
const backendChecks = [
  check(hasGpu ? 'WebGPU' : 'WebGPU (no adapter)', 'webgpu', hasGpu, !hasGpu),
  check('CPU', 'cpu', true),
];
const num = (label: string, key: string, value: number) =>
  h(
    'div',
    { class: 'field' },
    h('label', null, label),
    h('input', {
      class: 'input',
      type: 'number',
      min: 1,
      value: Number(query.get(key) ?? value),
      'data-key': key,
    }),
  );
const numbers = [
  num('Prompt tokens', 'prompt', 64),
  num('Decode tokens', 'decode', 64),
  num('Runs', 'runs', 3),
];
const runBtn = h('button', { class: 'btn primary', 'data-testid': 'bench-run' }, 'Run benchmark');
const log = h('div', { class: 'bench-log', 'data-testid': 'bench-log' });
const charts = h('div', { class: 'charts', 'data-testid': 'bench-charts' });
const table = h('div', { class: 'bench-table' });

document.body.append(
  h(
    'div',
    { class: 'app bench' },
    top.el,
    h(
      'main',
      { class: 'bench-main' },
      h(
        'section',
        { class: 'card bench-config' },
        h('header', null, h('h2', null, 'Benchmark')),
        h(
          'div',
          { class: 'body' },
          h(
            'p',
            { class: 'muted intro' },
            'Prefill and decode throughput of the engine in this browser, per backend, with greedy decoding and the response cache off. Each run uses a different prompt so the prefix cache cannot skip work.',
          ),
          h(
            'div',
            { class: 'field' },
            h('span', { class: 'field-label' }, 'Models'),
            h('div', { class: 'checks' }, modelChecks),
          ),
          h(
            'div',
            { class: 'field' },
            h('span', { class: 'field-label' }, 'Backends'),
            h('div', { class: 'checks' }, backendChecks),
          ),
          h('div', { class: 'grid-3' }, numbers),
          runBtn,
          log,
        ),
      ),
      h(
        'section',
        { class: 'card bench-results' },
        h('header', null, h('h2', null, 'Results')),
        h('div', { class: 'body' }, charts, table),
      ),
    ),
  ),
);
replace(charts, h('div', { class: 'hint' }, 'Run the benchmark to see charts here.'));

function plan(): BenchPlan {
  const checked = (els: HTMLElement[]) =>
    els
      .map((e) => e.querySelector('input')!)
      .filter((i) => i.checked)
      .map((i) => i.value);
  const value = (key: string) =>
    Math.max(
      1,
      Number(numbers.map((n) => n.querySelector('input')!).find((i) => i.dataset.key === key)!.value),
    );
  return {
    models: MODELS.filter((m) => checked(modelChecks).includes(m.id)),
    backends: checked(backendChecks) as BenchPlan['backends'],
    promptTokens: value('prompt'),
    decodeTokens: value('decode'),
    runs: value('runs'),
  };
}

function render(rows: BenchRow[]): void {
  const med = (xs: number[]) => summarize('', '', xs)?.median ?? 0;
  const groups = (pick: (r: BenchRow) => number[]): ChartGroup[] => {
    const models = [...new Set(rows.map((r) => r.model))];
    return models.map((model) => ({
      label: model,
      bars: rows
        .filter((r) => r.model === model && pick(r).length)
        .map((r) => ({
          series: r.backend,
          value: med(pick(r)),
          min: Math.min(...pick(r)),
          max: Math.max(...pick(r)),
        })),
    }));
  };
  const chart = (title: string, unit: string, pick: (r: BenchRow) => number[], note: string) => {
    const c = barChart(groups(pick), unit);
    return h(
      'figure',
      { class: 'chart-card' },
      h(
        'figcaption',
        null,
        h('strong', null, title),
        h('span', { class: 'hint' }, c.log ? `${note} · log scale` : note),
      ),
      c.el,
    );
  };
  const backends = [...new Set(rows.map((r) => r.backend))];
  replace(
    charts,
    h(
      'div',
      { class: 'legend' },
      backends.map((b) =>
        h(
          'span',
          { class: 'legend-item' },
          h('i', { style: { background: SERIES_COLORS[b] ?? 'var(--text-3)' } }),
          b === 'webgpu' ? 'WebGPU' : b.toUpperCase(),
        ),
      ),
      h('span', { class: 'hint' }, 'bar: median · whisker: fastest to slowest run'),
    ),
    chart('Decode', 'tok/s', (r) => r.decode, 'higher is better'),
    chart('Prefill', 'tok/s', (r) => r.prefill, 'higher is better'),
    chart('Time to first token', 'ms', (r) => r.ttft, 'lower is better'),
  );
  const figs = figures(rows);
  replace(
    table,
    h(
      'table',
      { 'data-testid': 'bench-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Figure', 'Median', 'Min', 'Max', 'Runs', 'vs CPU'].map((t) => h('th', null, t)),
        ),
      ),
      h(
        'tbody',
        null,
        figs.map((f) =>
          h(
            'tr',
            null,
            h('td', null, f.name),
            ...[f.median, f.min, f.max].map((v) =>
              h('td', { class: 'num' }, f.unit === 'ms' ? formatMs(v) : `${formatRate(v)} ${f.unit}`),
            ),
            h('td', { class: 'num' }, String(f.runs)),
            h('td', { class: 'num' }, f.ratio === undefined ? '' : `×${f.ratio.toFixed(2)}`),
          ),
        ),
      ),
    ),
    h(
      'button',
      {
        class: 'btn small',
        onclick: () => {
          const a = h('a', {
            href: URL.createObjectURL(
              new Blob([JSON.stringify(figs, null, 2)], { type: 'application/json' }),
            ),
            download: 'browser.json',
          });
          a.click();
        },
      },
      'Download JSON',
    ),
  );
  (window as unknown as { benchFigures: unknown }).benchFigures = figs;
}

async function run(): Promise<void> {
  const p = plan();
  runBtn.disabled = true;
  replace(status, chip('accent busy', 'Running'));
  const lines = new Map<BenchRow, HTMLElement>();
  log.replaceChildren();
  const rows = await runPlan(p, (row, done) => {
    let line = lines.get(row);
    if (!line) {
      line = h('div');
      lines.set(row, line);
      log.append(line);
    }
    const state = row.error ? `failed: ${row.error}` : done ? 'done' : `run ${row.decode.length}/${p.runs}`;
    replace(
      line,
      h('span', { class: 'mono' }, `${row.model} · ${row.backend}`),
      ' ',
      h('span', { class: 'hint' }, state),
    );
    if (done) render([...lines.keys()]);
  });
  render(rows);
  runBtn.disabled = false;
  replace(status, chip('local', 'Finished'));
  document.body.dataset.bench = 'done';
}

runBtn.addEventListener('click', () => void run());
if (query.has('autorun')) void run();
