import { h } from '../lib/dom.js';

export interface Composer {
  el: HTMLElement;
  input: HTMLTextAreaElement;
  setRunning(running: boolean): void;
  setEnabled(enabled: boolean): void;
  setMode(mode: 'completion' | 'chat' | 'structured'): void;
}

/** The prompt box with Generate / Stop; Ctrl+Enter (⌘+Enter) sends. */
export function composer(handlers: {
  onSend(text: string): void;
  onStop(): void;
  onClear(): void;
}): Composer {
  const input = h('textarea', { class: 'input', rows: 3, 'data-testid': 'prompt', 'aria-label': 'Prompt' });
  const send = h(
    'button',
    { class: 'btn primary', 'data-testid': 'generate', onclick: () => handlers.onSend(input.value) },
    'Generate',
  );
  const stop = h(
    'button',
    { class: 'btn danger', 'data-testid': 'stop', hidden: true, onclick: () => handlers.onStop() },
    '■ Stop',
  );
  const clear = h('button', { class: 'btn ghost small', onclick: () => handlers.onClear() }, 'Clear');
  const hint = h('span', { class: 'hint' });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!send.disabled && !send.hidden) handlers.onSend(input.value);
    }
  });
  const el = h(
    'div',
    { class: 'composer' },
    input,
    h(
      'div',
      { class: 'row between' },
      h('div', { class: 'row' }, clear, hint),
      h('div', { class: 'row' }, stop, send),
    ),
  );
  let enabled = false;
  let running = false;
  const render = () => {
    send.hidden = running;
    stop.hidden = !running;
    send.disabled = !enabled;
  };
  return {
    el,
    input,
    setRunning(r) {
      running = r;
      render();
    },
    setEnabled(e) {
      enabled = e;
      render();
    },
    setMode(mode) {
      input.placeholder = mode === 'chat' ? 'Send a message…' : 'Start a story and the model continues it…';
      hint.textContent =
        mode === 'completion'
          ? 'Completion: the model continues your text'
          : mode === 'structured'
            ? 'Structured: the continuation is JSON valid under the schema'
            : 'Chat: the model answers as the assistant';
      send.textContent = mode === 'chat' ? 'Send' : 'Generate';
    },
  };
}
