import type { EngineInfo } from '@edgelm/sdk';
import { h, replace } from '../lib/dom.js';
import { formatBytes } from '../lib/format.js';
import { chip } from './topbar.js';
import { backendLabel } from './transcript.js';

type AdapterInfo = NonNullable<EngineInfo['adapter']>;

const KEY_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'];
/** [limit, label, is a byte count]. */
const KEY_LIMITS: [string, string, boolean][] = [
  ['maxBufferSize', 'Buffer size', true],
  ['maxStorageBufferBindingSize', 'Storage binding', true],
  ['maxComputeWorkgroupStorageSize', 'Workgroup memory', true],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations / workgroup', false],
  ['maxStorageBuffersPerShaderStage', 'Storage buffers / stage', false],
];

/** The WebGPU adapter as this page sees it (the engine's worker gets the same one). */
export async function probeAdapter(): Promise<AdapterInfo | null> {
  const gpu = navigator.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const [k] of KEY_LIMITS) limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    description: info?.description ?? '',
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

export interface DevicePanel {
  el: HTMLElement;
  setAdapter(a: AdapterInfo | null): void;
  setEngine(info: EngineInfo | null): void;
}

/** Adapter, features, limits and the backend the engine chose. */
export function devicePanel(): DevicePanel {
  const backend = h(
    'div',
    { class: 'row', 'data-testid': 'device-backend' },
    h('span', { class: 'hint' }, 'Load a model to choose a backend'),
  );
  const adapterEl = h(
    'div',
    { 'data-testid': 'device-adapter' },
    h('span', { class: 'hint' }, 'Probing WebGPU…'),
  );
  const el = h(
    'section',
    { class: 'card', 'data-testid': 'device-panel' },
    h('header', null, h('h2', null, 'Device')),
    h('div', { class: 'body' }, backend, adapterEl),
  );
  let adapter: AdapterInfo | null = null;
  const render = () => {
    if (!adapter) {
      replace(
        adapterEl,
        h(
          'div',
          { class: 'hint' },
          navigator.gpu
            ? 'No WebGPU adapter: the CPU backend runs the model.'
            : 'This browser has no WebGPU: the CPU backend runs the model.',
        ),
      );
      return;
    }
    const a = adapter;
    const name = [a.vendor, a.architecture].filter(Boolean).join(' · ') || 'Unknown adapter';
    replace(
      adapterEl,
      h('div', { class: 'adapter-name', 'data-testid': 'adapter-name' }, name),
      a.description ? h('div', { class: 'hint' }, a.description) : null,
      h(
        'div',
        { class: 'features' },
        KEY_FEATURES.map((f) =>
          a.features.includes(f)
            ? h('span', { class: 'chip local' }, f)
            : h('span', { class: 'chip plain off', title: 'not available' }, f),
        ),
      ),
      h(
        'div',
        { class: 'kv-grid' },
        KEY_LIMITS.filter(([k]) => Number.isFinite(a.limits[k])).flatMap(([k, label, bytes]) => [
          h('span', { class: 'k', title: k }, label),
          h('span', { class: 'v mono' }, bytes ? formatBytes(a.limits[k]) : String(a.limits[k])),
        ]),
      ),
      h(
        'details',
        { class: 'more' },
        h('summary', null, `All features (${a.features.length})`),
        h(
          'div',
          { class: 'inner features' },
          a.features.map((f) => h('span', { class: 'chip plain' }, f)),
        ),
      ),
    );
  };
  return {
    el,
    setAdapter(a) {
      adapter = a;
      render();
    },
    setEngine(info) {
      if (!info) return replace(backend, h('span', { class: 'hint' }, 'Load a model to choose a backend'));
      if (info.adapter) {
        // The engine names the device it opened; the page's probe knows every feature and limit.
        const e = info.adapter;
        adapter = {
          vendor: e.vendor || adapter?.vendor || '',
          architecture: e.architecture || adapter?.architecture || '',
          description: e.description || adapter?.description || '',
          features: [...new Set([...(adapter?.features ?? []), ...e.features])].sort(),
          limits: { ...adapter?.limits, ...e.limits },
        };
        render();
      }
      replace(
        backend,
        h('span', { class: 'field-label' }, 'Backend'),
        chip(info.backend === 'webgpu' ? 'local' : 'accent', backendLabel(info.backend)),
        h('span', { class: 'hint' }, `KV ${info.kv.pageCount} pages × ${info.kv.pageSize} tokens`),
      );
    },
  };
}
