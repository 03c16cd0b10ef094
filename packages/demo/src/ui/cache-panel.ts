import {
  type CachedModelInfo,
  cacheUsage,
  deleteCachedModel,
  listCachedModels,
  persistCache,
} from '@edgelm/sdk';
import { h, replace } from '../lib/dom.js';
import { baseName, formatBytes } from '../lib/format.js';

export interface CachePanel {
  el: HTMLElement;
  refresh(): Promise<void>;
}

/** Models held in the SDK's IndexedDB weight store, the origin's storage estimate, persist and delete. */
export function cachePanel(opts: {
  /** URLs of the files the engine runs now. */
  inUse(): string[];
  onChange?(models: CachedModelInfo[]): void;
}): CachePanel {
  const usage = h('div', { class: 'usage' });
  const list = h('div', { class: 'cache-list', 'data-testid': 'cache-list' });
  const persistBtn = h('button', { class: 'btn small' }, 'Persist');
  const persisted = h('span', { class: 'hint' });
  persistBtn.addEventListener('click', async () => {
    await persistCache();
    await refresh();
  });

  async function refresh(): Promise<void> {
    const [models, u, isPersisted] = await Promise.all([
      listCachedModels().catch(() => [] as CachedModelInfo[]),
      cacheUsage().catch(() => undefined),
      navigator.storage?.persisted?.().catch(() => false) ?? Promise.resolve(false),
    ]);
    opts.onChange?.(models);
    persisted.textContent = isPersisted ? 'Storage is persistent' : 'Storage may be evicted under pressure';
    persistBtn.hidden = isPersisted;
    const est = u?.estimate;
    replace(
      usage,
      h(
        'div',
        { class: 'row between' },
        h('strong', null, formatBytes(u?.bytes ?? 0)),
        h('span', { class: 'hint' }, est ? `of ${formatBytes(est.quota)} available` : ''),
      ),
      h(
        'div',
        { class: 'progress' },
        h('div', {
          style: { width: est?.quota ? `${Math.max(1, (100 * est.usage) / est.quota)}%` : '0%' },
        }),
      ),
      h('div', { class: 'hint' }, est ? `This site uses ${formatBytes(est.usage)} in total` : ''),
    );
    const current = opts.inUse();
    replace(
      list,
      models.length === 0
        ? h(
            'div',
            { class: 'hint' },
            'No model stored yet: the first load keeps its weights here for offline use.',
          )
        : models.map((m) => row(m, current.includes(m.url))),
    );
  }

  function row(m: CachedModelInfo, inUse: boolean): HTMLElement {
    const del = h(
      'button',
      {
        class: 'btn ghost small',
        title: 'Delete from this device',
        'aria-label': `Delete ${baseName(m.url)}`,
      },
      '✕',
    );
    del.addEventListener('click', async () => {
      del.disabled = true;
      await deleteCachedModel(m.id).catch(() => {});
      await refresh();
    });
    return h(
      'div',
      { class: 'cache-row', 'data-testid': 'cache-row', title: m.url },
      h(
        'div',
        { class: 'cache-main' },
        h('div', { class: 'cache-name' }, baseName(m.url)),
        h(
          'div',
          { class: 'hint' },
          `${formatBytes(m.storedBytes)}${m.complete ? '' : ` of ${formatBytes(m.size)}`} · ${new URL(m.url).host}`,
        ),
      ),
      m.complete
        ? h('span', { class: 'chip cached' }, inUse ? 'In use' : 'Offline')
        : h('span', { class: 'chip remote' }, 'Partial'),
      del,
    );
  }

  const el = h(
    'section',
    { class: 'card', 'data-testid': 'cache-panel' },
    h(
      'header',
      null,
      h('h2', null, 'Offline storage'),
      h('button', { class: 'btn ghost small', onclick: () => void refresh() }, 'Refresh'),
    ),
    h('div', { class: 'body' }, usage, list, h('div', { class: 'row between' }, persisted, persistBtn)),
  );
  return { el, refresh };
}
