import { h } from '../lib/dom.js';
import type { Settings } from '../lib/settings.js';

export interface SettingsPanel {
  el: HTMLElement;
  /** Re-reads the controls from settings (after a model switch changes the mode). */
  sync(): void;
}

/**
 * Generation settings. `onChange` gets every edit; `reloadNeeded` is true when the engine must
 * be rebuilt for it to take effect (backend, fallback server, privacy).
 */
export function settingsPanel(s: Settings, onChange: (reloadNeeded: boolean) => void): SettingsPanel {
  const syncers: (() => void)[] = [];
  const set = <K extends keyof Settings>(k: K, v: Settings[K], reload = false) => {
    s[k] = v;
    onChange(reload);
  };

  const segmented = <K extends 'mode' | 'route'>(k: K, options: [Settings[K], string][], testid: string) => {
    const buttons = options.map(([value, label]) =>
      h(
        'button',
        {
          type: 'button',
          'data-value': value,
          onclick: () => {
            set(k, value);
            sync();
          },
        },
        label,
      ),
    );
    const sync = () => {
      for (const [i, b] of buttons.entries()) b.setAttribute('aria-pressed', String(options[i][0] === s[k]));
    };
    syncers.push(sync);
    return h('div', { class: 'segmented', role: 'group', 'data-testid': testid }, buttons);
  };

  const slider = (
    k: 'maxTokens' | 'temperature' | 'topP',
    label: string,
    min: number,
    max: number,
    step: number,
    show: (v: number) => string,
  ) => {
    const out = h('output');
    const input = h('input', {
      type: 'range',
      min,
      max,
      step,
      'aria-label': label,
      'data-testid': `setting-${k}`,
    });
    input.addEventListener('input', () => {
      set(k, Number(input.value));
      out.value = show(s[k]);
    });
    syncers.push(() => {
      input.value = String(s[k]);
      out.value = show(s[k]);
    });
    return h('div', { class: 'field' }, h('label', null, label, out), input);
  };

  const numberField = (
    label: string,
    get: () => string,
    put: (raw: string) => void,
    placeholder: string,
    testid: string,
  ) => {
    const input = h('input', {
      class: 'input',
      type: 'number',
      placeholder,
      'aria-label': label,
      'data-testid': testid,
    });
    input.addEventListener('change', () => put(input.value));
    syncers.push(() => {
      input.value = get();
    });
    return h('div', { class: 'field' }, h('label', null, label), input);
  };

  const cache = h('input', {
    type: 'checkbox',
    class: 'switch',
    'aria-label': 'Response cache',
    'data-testid': 'setting-cache',
  });
  cache.addEventListener('change', () => set('cache', cache.checked));
  syncers.push(() => {
    cache.checked = s.cache;
  });

  const backend = h(
    'select',
    { class: 'input', 'aria-label': 'Backend', 'data-testid': 'setting-backend' },
    h('option', { value: 'auto' }, 'Auto (WebGPU, else CPU)'),
    h('option', { value: 'webgpu' }, 'WebGPU'),
    h('option', { value: 'cpu' }, 'CPU'),
  );
  backend.addEventListener('change', () => set('backend', backend.value as Settings['backend'], true));
  syncers.push(() => {
    backend.value = s.backend;
  });

  const remote = h('input', {
    class: 'input',
    placeholder: 'https://host/v1',
    'aria-label': 'Fallback server',
    'data-testid': 'setting-remote',
  });
  remote.addEventListener('change', () => set('remoteUrl', remote.value.trim(), true));
  const privacy = h(
    'select',
    { class: 'input', 'aria-label': 'Privacy' },
    h('option', { value: 'allow-remote' }, 'Allow remote when needed'),
    h('option', { value: 'local-only' }, 'Local only — never send data'),
  );
  privacy.addEventListener('change', () => set('privacy', privacy.value as Settings['privacy'], true));
  const system = h('textarea', {
    class: 'input',
    rows: 2,
    placeholder: 'You are a helpful assistant.',
    'aria-label': 'System prompt',
  });
  system.addEventListener('change', () => set('systemPrompt', system.value));
  syncers.push(() => {
    remote.value = s.remoteUrl;
    privacy.value = s.privacy;
    system.value = s.systemPrompt;
  });

  const el = h(
    'section',
    { class: 'card' },
    h('header', null, h('h2', null, 'Generation')),
    h(
      'div',
      { class: 'body' },
      segmented(
        'mode',
        [
          ['completion', 'Completion'],
          ['chat', 'Chat'],
          ['structured', 'Structured'],
        ],
        'setting-mode',
      ),
      slider('maxTokens', 'Max tokens', 1, 512, 1, String),
      slider('temperature', 'Temperature', 0, 2, 0.05, (v) => (v === 0 ? 'greedy' : v.toFixed(2))),
      slider('topP', 'Top-p', 0.05, 1, 0.05, (v) => v.toFixed(2)),
      h(
        'div',
        { class: 'grid-2' },
        numberField(
          'Top-k',
          () => (s.topK ? String(s.topK) : ''),
          (raw) => set('topK', Math.max(0, Math.floor(Number(raw) || 0))),
          'off',
          'setting-topK',
        ),
        numberField(
          'Seed',
          () => (s.seed === null ? '' : String(s.seed)),
          (raw) => set('seed', raw === '' ? null : Math.floor(Number(raw))),
          'random',
          'setting-seed',
        ),
      ),
      h('div', { class: 'row between' }, h('span', { class: 'field-label' }, 'Response cache'), cache),
      h(
        'div',
        { class: 'field' },
        h('span', { class: 'field-label' }, 'Route'),
        segmented(
          'route',
          [
            ['auto', 'Auto'],
            ['local', 'Local'],
            ['remote', 'Remote'],
          ],
          'setting-route',
        ),
      ),
      h(
        'details',
        { class: 'more' },
        h('summary', null, 'Engine and fallback'),
        h(
          'div',
          { class: 'inner' },
          h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Backend'), backend),
          h(
            'div',
            { class: 'field' },
            h('span', { class: 'field-label' }, 'Fallback server (OpenAI-compatible)'),
            remote,
          ),
          h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Privacy'), privacy),
          h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'System prompt (chat)'), system),
          h('div', { class: 'hint' }, 'Backend, server and privacy apply when the model reloads.'),
        ),
      ),
    ),
  );
  const sync = () => {
    for (const f of syncers) f();
  };
  sync();
  return { el, sync };
}
