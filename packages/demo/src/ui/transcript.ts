import type { ResultSummary } from '../engine/session.js';
import { h, replace } from '../lib/dom.js';
import { formatMs, formatRate } from '../lib/format.js';
import { chip } from './topbar.js';

/** One streamed answer on screen: text grows as deltas arrive, then the footer says how it was served. */
export interface Entry {
  el: HTMLElement;
  append(delta: string): void;
  finish(result: ResultSummary | null, error?: { message: string; code?: string }, backend?: string): void;
}

/** The scrolling list of completions and chat turns, with an empty state that suggests prompts. */
export class Transcript {
  readonly el = h('div', { class: 'transcript', 'data-testid': 'transcript' });
  private readonly list = h('div', { class: 'entries' });

  constructor(private readonly onSuggest: (prompt: string) => void) {
    this.clear();
  }

  clear(): void {
    replace(this.el, this.empty());
    this.list.replaceChildren();
  }

  private empty(): HTMLElement {
    const suggestions = [
      'Once upon a time',
      'Lily and Ben went to the park',
      'The little dog was sad because',
    ];
    return h(
      'div',
      { class: 'empty' },
      h('img', { src: '/favicon.svg', alt: '', class: 'empty-logo' }),
      h('h1', null, 'A language model, running in this tab'),
      h(
        'p',
        { class: 'muted' },
        'Weights are cached on this device, inference runs on WebGPU in a worker, and requests too large for the device can fall back to a server.',
      ),
      h(
        'div',
        { class: 'suggestions' },
        suggestions.map((s) => h('button', { class: 'btn small', onclick: () => this.onSuggest(s) }, s)),
      ),
    );
  }

  private ensureList(): void {
    if (this.list.parentElement !== this.el) replace(this.el, this.list);
  }

  private scroll(): void {
    this.el.scrollTop = this.el.scrollHeight;
  }

  /** A user turn of a chat. */
  addUser(text: string): void {
    this.ensureList();
    this.list.append(h('div', { class: 'msg user' }, h('div', { class: 'bubble' }, text)));
    this.scroll();
  }

  /** An answer: a continuation of `prompt` (completion mode) or an assistant turn (chat mode). */
  addAnswer(kind: 'completion' | 'chat', prompt?: string): Entry {
    this.ensureList();
    const out = h('span', { class: 'out', 'data-testid': 'entry-output' });
    const caret = h('span', { class: 'caret' });
    const footer = h('div', { class: 'entry-footer' }, chip('accent busy', 'Generating'));
    const text =
      kind === 'completion'
        ? h('div', { class: 'completion-text' }, promptView(prompt ?? ''), out, caret)
        : h('div', { class: 'bubble' }, out, caret);
    const el = h(
      'div',
      {
        class: `msg ${kind === 'completion' ? 'completion' : 'assistant'}`,
        'data-testid': 'entry',
        'data-state': 'streaming',
      },
      text,
      footer,
    );
    this.list.append(el);
    this.scroll();
    let pending = '';
    let scheduled = false;
    // Deltas arrive faster than frames: batch them per animation frame.
    const flush = () => {
      scheduled = false;
      out.append(pending);
      pending = '';
      out.normalize();
      this.scroll();
    };
    return {
      el,
      append: (delta) => {
        pending += delta;
        if (!scheduled) {
          scheduled = true;
          requestAnimationFrame(flush);
        }
      },
      finish: (result, error, backend) => {
        if (pending) flush();
        caret.remove();
        el.dataset.state = error ? 'error' : 'done';
        replace(footer, footerChips(result, error, backend));
        this.scroll();
      },
    };
  }
}

/** The prompt in bold; a long one is cut in the middle so the answer stays in view. */
function promptView(prompt: string): HTMLElement {
  if (prompt.length <= 320) return h('span', { class: 'prompt' }, prompt);
  return h(
    'span',
    { class: 'prompt', title: prompt },
    prompt.slice(0, 160),
    h('span', { class: 'elided' }, ` … ${prompt.length - 260} more characters … `),
    prompt.slice(-100),
  );
}

function footerChips(
  result: ResultSummary | null,
  error?: { message: string; code?: string },
  backend?: string,
): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (error)
    out.push(
      h(
        'span',
        { class: 'chip error', 'data-testid': 'entry-error', title: error.message },
        error.code ?? 'Error',
      ),
      h('span', { class: 'reason' }, error.message),
    );
  if (!result) return out;
  out.push(
    result.servedBy === 'remote'
      ? h('span', { class: 'chip remote', 'data-testid': 'entry-served' }, 'Remote')
      : h(
          'span',
          { class: 'chip local', 'data-testid': 'entry-served' },
          backend ? `Local · ${backendLabel(backend)}` : 'Local',
        ),
  );
  if (result.cached)
    out.push(h('span', { class: 'chip cached', 'data-testid': 'entry-cached' }, 'Response cache'));
  if (result.finishReason === 'abort') out.push(chip('plain', 'Stopped'));
  if (result.prefixTokensReused > 0)
    out.push(
      h(
        'span',
        { class: 'chip plain', title: 'Prompt tokens whose KV came from the prefix cache' },
        `${result.prefixTokensReused} prefix tokens reused`,
      ),
    );
  const t = result.timings;
  out.push(h('span', { class: 'stat' }, `${result.usage.completionTokens} tokens`));
  if (result.cached) out.push(h('span', { class: 'stat' }, `replayed in ${formatMs(t.totalMs)}`));
  else
    out.push(
      h('span', { class: 'stat' }, `TTFT ${formatMs(t.ttftMs)}`),
      h('span', { class: 'stat' }, `${formatRate(t.decodeTokensPerSecond)} tok/s`),
    );
  if (result.servedBy === 'remote' || result.cached)
    out.push(
      h(
        'span',
        { class: 'reason', 'data-testid': 'entry-reason' },
        result.cached ? 'answered from the response cache' : result.routeReason,
      ),
    );
  return out;
}

export function backendLabel(b: string): string {
  return b === 'webgpu' ? 'WebGPU' : b === 'cpu' ? 'CPU' : b === 'onnx' ? 'ONNX' : b;
}
