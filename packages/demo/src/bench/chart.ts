import { svg } from '../lib/dom.js';
import { formatRate } from '../lib/format.js';

export interface ChartBar {
  series: string;
  value: number;
  min?: number;
  max?: number;
}

export interface ChartGroup {
  label: string;
  bars: ChartBar[];
}

/** Series colours: CSS variables, so the chart follows the theme. */
export const SERIES_COLORS: Record<string, string> = { webgpu: 'var(--accent)', cpu: 'var(--info)' };

/**
 * Where a value lands on [0, 1]. Backends can differ a hundredfold (SwiftShader against wasm
 * SIMD), so past a 20× spread the axis turns logarithmic, or the slow bar would vanish.
 */
function scaler(values: number[]): { at(v: number): number; log: boolean } {
  const pos = values.filter((v) => v > 0);
  const hi = Math.max(1e-9, ...pos);
  const lo = Math.min(hi, ...pos);
  if (hi / lo <= 20) return { at: (v) => v / hi, log: false };
  const floor = 10 ** (Math.floor(Math.log10(lo)) - 0.3);
  const span = Math.log10(hi / floor);
  return { at: (v) => (v > floor ? Math.log10(v / floor) / span : 0), log: true };
}

/**
 * A grouped horizontal bar chart in plain SVG: one group per model, one bar per backend, a
 * whisker from the slowest to the fastest run, the median written at the bar's end.
 */
export function barChart(groups: ChartGroup[], unit: string): { el: SVGSVGElement; log: boolean } {
  const width = 720;
  const labelW = 150;
  const barH = 16;
  const gap = 5;
  const groupGap = 16;
  const plotW = width - labelW - 90;
  const scale = scaler(
    groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.min ?? b.value, b.max ?? b.value])),
  );
  let y = 4;
  const nodes: SVGElement[] = [];
  for (const g of groups) {
    const groupH = g.bars.length * (barH + gap) - gap;
    const [name, ...rest] = g.label.split(' ');
    nodes.push(
      svg('text', { x: 0, y: y + groupH / 2 - 2, class: 'chart-label' }, name),
      svg('text', { x: 0, y: y + groupH / 2 + 11, class: 'chart-sublabel' }, rest.join(' ')),
    );
    for (const b of g.bars) {
      const w = Math.max(3, scale.at(b.value) * plotW);
      const color = SERIES_COLORS[b.series] ?? 'var(--text-3)';
      nodes.push(svg('rect', { x: labelW, y, width: w, height: barH, rx: 4, fill: color }));
      if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
        const x0 = labelW + scale.at(b.min) * plotW;
        const x1 = labelW + Math.max(scale.at(b.max) * plotW, 1);
        const mid = y + barH / 2;
        nodes.push(
          svg('path', {
            d: `M${x0} ${mid}H${x1}M${x0} ${mid - 3}V${mid + 3}M${x1} ${mid - 3}V${mid + 3}`,
            class: 'chart-whisker',
          }),
        );
      }
      const end = labelW + Math.max(w, b.max !== undefined ? scale.at(b.max) * plotW : 0);
      nodes.push(
        svg(
          'text',
          { x: end + 6, y: y + barH / 2 + 4, class: 'chart-value' },
          `${formatRate(b.value)} ${unit}`,
        ),
      );
      y += barH + gap;
    }
    y += groupGap - gap;
  }
  const height = y - groupGap + 8;
  return {
    el: svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img' }, ...nodes),
    log: scale.log,
  };
}
