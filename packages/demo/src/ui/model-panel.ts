import type { LoadProgress } from '@edgelm/sdk';
import { choiceFromFiles, choiceFromUrl, formatLabel, type ModelChoice } from '../engine/models.js';
import type { SessionState } from '../engine/session.js';
import { h, replace } from '../lib/dom.js';
import { formatBytes, formatMs } from '../lib/format.js';
import { chip } from './topbar.js';

export interface ModelPanel {
  el: HTMLElement;
  setChoices(groups: { label: string; choices: ModelChoice[] }[], selected: string | undefined): void;
  setState(state: SessionState): void;
}

/**
 * Picks and loads a model: the server's models directory, the Hub, any URL, or a file dropped
 * on the panel (or anywhere on the page).
 */
export function modelPanel(opts: {
  onLoad(choice: ModelChoice): void;
  fallbackTokenizer(): string;
}): ModelPanel {
  let byId = new Map<string, ModelChoice>();
  const select = h('select', { class: 'input', 'data-testid': 'model-select', 'aria-label': 'Model' });
  const loadBtn = h('button', { class: 'btn primary', 'data-testid': 'load-model' }, 'Load');
  loadBtn.addEventListener('click', () => {
    const c = byId.get(select.value);
    if (c) opts.onLoad(c);
  });

  const urlInput = h('input', {
    class: 'input',
    placeholder: 'https://…/model.gguf',
    'aria-label': 'Model URL',
  });
  const tokInput = h('input', {
    class: 'input',
    placeholder: 'Tokenizer URL (llama2.c only)',
    'aria-label': 'Tokenizer URL',
  });
  const urlForm = h(
    'form',
    {
      class: 'inner',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const url = urlInput.value.trim();
        if (url) opts.onLoad(choiceFromUrl(url, tokInput.value.trim()));
      },
    },
    urlInput,
    tokInput,
    h(
      'div',
      { class: 'row' },
      h('button', { class: 'btn small', type: 'submit' }, 'Load URL'),
      h('span', { class: 'hint' }, 'GGUF · llama2.c · ONNX folder'),
    ),
  );

  const fileInput = h('input', { type: 'file', multiple: true, accept: '.gguf,.bin', hidden: true });
  const drop = h(
    'label',
    { class: 'dropzone', 'data-testid': 'dropzone' },
    fileInput,
    h('span', { class: 'drop-title' }, 'Drop a model file'),
    h('span', null, '.gguf, or a llama2.c .bin with its tok*.bin'),
  );
  const fromFiles = (files: FileList | null | undefined) => {
    const c = files ? choiceFromFiles([...files], opts.fallbackTokenizer()) : undefined;
    if (c) opts.onLoad(c);
  };
  fileInput.addEventListener('change', () => fromFiles(fileInput.files));
  for (const target of [drop, document.body]) {
    target.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    target.addEventListener('dragleave', () => drop.classList.remove('over'));
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      drop.classList.remove('over');
      fromFiles((e as DragEvent).dataTransfer?.files);
    });
  }

  const status = h('div', { class: 'model-status', 'data-testid': 'model-status' });
  const el = h(
    'section',
    { class: 'card' },
    h('header', null, h('h2', null, 'Model')),
    h(
      'div',
      { class: 'body' },
      h('div', { class: 'row model-pick' }, select, loadBtn),
      status,
      h('details', { class: 'more' }, h('summary', null, 'Open a URL'), urlForm),
      drop,
    ),
  );

  let groups: { label: string; choices: ModelChoice[] }[] = [];
  const render = (selected: string | undefined) => {
    byId = new Map(groups.flatMap((g) => g.choices.map((c) => [c.id, c] as const)));
    replace(
      select,
      groups
        .filter((g) => g.choices.length)
        .map((g) =>
          h(
            'optgroup',
            { label: g.label },
            g.choices.map((c) => h('option', { value: c.id, selected: c.id === selected }, optionLabel(c))),
          ),
        ),
    );
  };

  return {
    el,
    setChoices(list, selected) {
      groups = list;
      render(selected);
    },
    setState(state) {
      loadBtn.disabled = state.status === 'loading';
      // A URL typed or a file dropped becomes an entry of its own, so the picker names what runs.
      if (state.status !== 'idle' && !byId.has(state.choice.id)) {
        const opened = groups.find((g) => g.label === 'Opened') ?? { label: 'Opened', choices: [] };
        if (!groups.includes(opened)) groups.push(opened);
        opened.choices.unshift(state.choice);
        render(state.choice.id);
      }
      if (state.status !== 'idle') select.value = state.choice.id;
      replace(status, renderStatus(state));
    },
  };
}

function optionLabel(c: ModelChoice): string {
  return c.origin === 'file' ? `${c.label} (file)` : c.origin === 'url' ? `${c.label} (URL)` : c.label;
}

function renderStatus(state: SessionState): HTMLElement | string {
  switch (state.status) {
    case 'idle':
      return h('div', { class: 'hint' }, 'No model loaded');
    case 'loading':
      return h(
        'div',
        { class: 'loading' },
        h(
          'div',
          { class: 'row between' },
          h('strong', null, state.choice.label),
          chip('accent busy', 'Loading'),
        ),
        progressBar(state.progress),
        h('div', { class: 'hint' }, progressText(state.progress)),
      );
    case 'error':
      return h(
        'div',
        { class: 'error-box', 'data-testid': 'model-error' },
        h('strong', null, `Could not load ${state.choice.label}`),
        h('div', null, state.code ? `${state.code}: ${state.message}` : state.message),
      );
    case 'ready': {
      const { info, choice } = state;
      const c = info.model.config;
      return h(
        'div',
        { class: 'ready' },
        h(
          'div',
          { class: 'row between' },
          h('strong', { 'data-testid': 'model-name' }, choice.label),
          chip('local', 'Ready'),
        ),
        h(
          'div',
          { class: 'kv-grid' },
          kv('Format', formatLabel(info.model.format)),
          kv('Size', formatBytes(info.model.bytes)),
          kv('Layers', `${c.nLayers} × ${c.dim}`),
          kv('Context', `${c.contextLength} tokens`),
          kv('Vocab', String(c.vocabSize)),
          kv('Loaded', `${formatMs(state.loadMs)}${state.fromCache ? ' · from cache' : ''}`),
        ),
      );
    }
  }
}

function kv(k: string, v: string): HTMLElement[] {
  return [h('span', { class: 'k' }, k), h('span', { class: 'v' }, v)];
}

function progressBar(p: LoadProgress | null): HTMLElement {
  let frac = 0;
  if (p?.phase === 'download') frac = p.total ? (0.6 * p.loaded) / p.total : 0;
  else if (p?.phase === 'upload') frac = 0.6 + (0.3 * p.tensors) / Math.max(1, p.totalTensors);
  else if (p?.phase === 'compile') frac = 0.95;
  else if (p?.phase === 'ready') frac = 1;
  return h('div', { class: 'progress' }, h('div', { style: { width: `${Math.round(frac * 100)}%` } }));
}

function progressText(p: LoadProgress | null): string {
  if (!p) return 'Starting the engine worker…';
  switch (p.phase) {
    case 'download':
      return p.cached
        ? `Reading ${formatBytes(p.total)} from the offline cache`
        : `Downloading ${formatBytes(p.loaded)} of ${formatBytes(p.total)}`;
    case 'upload':
      return `Uploading tensors ${p.tensors}/${p.totalTensors}`;
    case 'compile':
      return `Compiling ${p.pipelines} GPU pipelines`;
    case 'ready':
      return 'Ready';
  }
}
