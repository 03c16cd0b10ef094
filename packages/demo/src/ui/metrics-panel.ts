import type { EngineStats } from '@edgelm/sdk';
import type { ResultSummary } from '../engine/session.js';
import { h, replace, svg } from '../lib/dom.js';
import { formatMs, formatRate } from '../lib/format.js';

export interface MetricsPanel {
  el: HTMLElement;
  show(result: ResultSummary): void;
  showStats(stats: EngineStats): void;
}

/** The last request's figures, a history of decode speed, and the engine's counters. */
export function metricsPanel(): MetricsPanel {
  const tile = (label: string, testid: string) => {
    const value = h('div', { class: 'tile-value', 'data-testid': testid }, '–');
    const sub = h('div', { class: 'tile-sub' });
    return {
      el: h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, label), value, sub),
      value,
      sub,
    };
  };
  const ttft = tile('TTFT', 'metric-ttft');
  const decode = tile('Decode', 'metric-decode');
  const prefill = tile('Prefill', 'metric-prefill');
  const reused = tile('Prefix reused', 'metric-prefix');
  const served = h(
    'div',
    { class: 'served', 'data-testid': 'metric-served' },
    h('span', { class: 'hint' }, 'No request yet'),
  );
  const spark = h('div', { class: 'spark' });
  const counters = h('div', { class: 'kv-grid counters', 'data-testid': 'engine-counters' });
  const history: number[] = [];

  const el = h(
    'section',
    { class: 'card', 'data-testid': 'metrics-panel' },
    h('header', null, h('h2', null, 'Last request')),
    h(
      'div',
      { class: 'body' },
      h('div', { class: 'tiles' }, ttft.el, decode.el, prefill.el, reused.el),
      served,
      spark,
      counters,
    ),
  );

  return {
    el,
    show(r) {
      const t = r.timings;
      ttft.value.textContent = formatMs(t.ttftMs);
      ttft.sub.textContent = `${r.usage.promptTokens} prompt tokens`;
      // A replayed answer computed nothing: its rates would be meaningless.
      decode.value.textContent = r.cached ? 'cached' : formatRate(t.decodeTokensPerSecond);
      decode.sub.textContent = `tok/s · ${r.usage.completionTokens} tokens`;
      prefill.value.textContent = r.cached ? 'cached' : formatRate(t.prefillTokensPerSecond);
      prefill.sub.textContent = 'tok/s';
      reused.value.textContent = String(r.prefixTokensReused);
      reused.sub.textContent = `of ${r.usage.promptTokens} prompt tokens`;
      replace(
        served,
        h(
          'div',
          { class: 'row' },
          r.servedBy === 'remote'
            ? h('span', { class: 'chip remote' }, 'Served remotely')
            : h('span', { class: 'chip local' }, 'Served locally'),
          r.cached
            ? h('span', { class: 'chip cached', 'data-testid': 'metric-cache-hit' }, 'Cache hit')
            : h('span', { class: 'chip plain', 'data-testid': 'metric-cache-miss' }, 'Cache miss'),
        ),
        h(
          'div',
          { class: 'reason', 'data-testid': 'metric-reason' },
          r.cached ? 'Replayed from the response cache' : r.routeReason,
        ),
      );
      if (!r.cached && t.decodeTokensPerSecond > 0) {
        history.push(t.decodeTokensPerSecond);
        if (history.length > 24) history.shift();
        replace(spark, sparkline(history));
      }
    },
    showStats(s) {
      replace(
        counters,
        ...[
          ['Requests', s.requests],
          ['Completed', s.completed],
          ['Cache hits', s.responseCacheHits],
          ['Cache misses', s.responseCacheMisses],
          ['Remote', s.remoteRequests],
          ['Tokens out', s.completionTokens],
        ].map(([k, v]) => [h('span', { class: 'k' }, String(k)), h('span', { class: 'v' }, String(v))]),
      );
    },
  };
}

function sparkline(values: number[]): HTMLElement {
  const w = 280;
  const hgt = 44;
  const max = Math.max(...values) * 1.1;
  const bw = w / 24;
  const bars = values.map((v, i) =>
    svg('rect', { x: i * bw + 1, y: hgt - (v / max) * hgt, width: bw - 2, height: (v / max) * hgt, rx: 2 }),
  );
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'row between hint' },
      h('span', null, 'Decode tok/s, recent requests'),
      h('span', { class: 'mono' }, formatRate(values[values.length - 1])),
    ),
    svg('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'spark-svg', preserveAspectRatio: 'none' }, ...bars),
  );
}
