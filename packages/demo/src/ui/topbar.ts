import { h, replace } from '../lib/dom.js';

export type Theme = 'light' | 'dark';

const THEME_KEY = 'edgelm.demo.theme';

/** Applies the stored theme, or the system's. */
export function initTheme(): Theme {
  const stored = localStorage.getItem(THEME_KEY);
  const theme: Theme =
    stored === 'light' || stored === 'dark'
      ? stored
      : matchMedia('(prefers-color-scheme: dark)').matches
        ? 'dark'
        : 'light';
  document.documentElement.dataset.theme = theme;
  return theme;
}

function toggleTheme(): void {
  const next: Theme = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem(THEME_KEY, next);
}

/** The bar across the top: brand, pages, live status chips, theme switch. */
export function topbar(page: 'playground' | 'bench'): { el: HTMLElement; chips: HTMLElement } {
  const chips = h('div', { class: 'chips', 'data-testid': 'status-chips' });
  const link = (href: string, label: string, id: typeof page) =>
    h('a', { href, 'aria-current': page === id ? 'page' : undefined }, label);
  const el = h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'brand' },
      h('img', { src: '/favicon.svg', alt: '' }),
      'edgelm',
      h('small', null, 'SDK demo'),
    ),
    h(
      'nav',
      { class: 'nav' },
      link('/', 'Playground', 'playground'),
      link('/bench.html', 'Benchmark', 'bench'),
    ),
    h('div', { class: 'spacer' }),
    chips,
    h(
      'button',
      { class: 'btn ghost small', title: 'Toggle theme', 'aria-label': 'Toggle theme', onclick: toggleTheme },
      '◐',
    ),
  );
  return { el, chips };
}

/** A status chip: `chip('local', 'WebGPU')`. */
export function chip(kind: string, text: string, title?: string): HTMLElement {
  return h('span', { class: `chip ${kind}`, title }, text);
}

/** Keeps an online/offline chip in a container up to date. */
export function networkChip(): HTMLElement {
  const el = h('span');
  const render = () =>
    replace(
      el,
      navigator.onLine
        ? chip('plain', 'Online')
        : chip('remote', 'Offline', 'No network: running from the app cache'),
    );
  addEventListener('online', render);
  addEventListener('offline', render);
  render();
  return el;
}
