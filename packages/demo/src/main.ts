import './styles/base.css';
import './styles/layout.css';
import './styles/panels.css';
import type { ChatMessage } from '@edgelm/sdk';
import {
  defaultChoice,
  fetchEnv,
  hubModelList,
  lastChoice,
  localModels,
  type ModelChoice,
  rememberChoice,
} from './engine/models.js';
import { Session } from './engine/session.js';
import { h, replace } from './lib/dom.js';
import { applyQuery, loadSettings, saveSettings } from './lib/settings.js';
import { cachePanel } from './ui/cache-panel.js';
import { composer } from './ui/composer.js';
import { devicePanel, probeAdapter } from './ui/device-panel.js';
import { metricsPanel } from './ui/metrics-panel.js';
import { modelPanel } from './ui/model-panel.js';
import { schemaPanel, validityBadge } from './ui/schema-panel.js';
import { settingsPanel } from './ui/settings-panel.js';
import { chip, initTheme, networkChip, topbar } from './ui/topbar.js';
import { backendLabel, Transcript } from './ui/transcript.js';

initTheme();
const query = new URLSearchParams(location.search);
const settings = applyQuery(loadSettings(), query);
const session = new Session();
let choices: ModelChoice[] = [];
let chat: ChatMessage[] = [];
let running: { stop(): void } | null = null;

const top = topbar('playground');
const stateChip = h('span');
top.chips.append(stateChip, networkChip());

const models = modelPanel({
  onLoad: (c) => void load(c),
  fallbackTokenizer: () =>
    String(choices.find((c) => c.label === 'stories260K')?.tokenizer ?? hubModelList()[0].tokenizer),
});
const schemaUi = schemaPanel(settings.schema, (text) => {
  settings.schema = text;
  saveSettings(settings);
});
schemaUi.show(settings.mode === 'structured');
const settingsUi = settingsPanel(settings, (reload) => {
  saveSettings(settings);
  input.setMode(settings.mode);
  schemaUi.show(settings.mode === 'structured');
  if (reload && session.state.status !== 'idle' && session.state.status !== 'loading')
    void load(session.state.choice);
});
const metrics = metricsPanel();
const device = devicePanel();
const cache = cachePanel({ inUse: () => currentModelUrls() });
const transcript = new Transcript((s) => {
  input.input.value = s;
  send(s);
});
const input = composer({
  onSend: (t) => send(t),
  onStop: () => running?.stop(),
  onClear: () => {
    chat = [];
    transcript.clear();
  },
});
input.setMode(settings.mode);
input.input.value = query.get('prompt') ?? 'Once upon a time';

document.body.append(
  h(
    'div',
    { class: 'app' },
    top.el,
    h(
      'main',
      { class: 'main' },
      h('aside', { class: 'sidebar' }, models.el, settingsUi.el, schemaUi.el),
      h('section', { class: 'center' }, transcript.el, input.el),
      h('aside', { class: 'sidebar right' }, metrics.el, device.el, cache.el),
    ),
  ),
);

session.subscribe((s) => {
  models.setState(s);
  input.setEnabled(s.status === 'ready' && !running);
  device.setEngine(s.status === 'ready' ? s.info : null);
  document.body.dataset.model = s.status;
  switch (s.status) {
    case 'idle':
      return replace(stateChip);
    case 'loading':
      return replace(stateChip, chip('accent busy', `Loading ${s.choice.label}`));
    case 'error':
      return replace(stateChip, chip('error', 'Load failed', s.message));
    case 'ready':
      replace(
        stateChip,
        h(
          'span',
          { class: 'chips' },
          chip('local', `${s.choice.label} · ${backendLabel(s.info.backend)}`),
          s.fromCache ? chip('cached', 'Weights from cache') : null,
        ),
      );
      void cache.refresh();
  }
});

/** Absolute URLs of the loaded model's files (the weight cache's keys). */
function currentModelUrls(): string[] {
  const s = session.state;
  if (s.status === 'idle') return [];
  return [s.choice.model, s.choice.tokenizer]
    .filter((u): u is string => typeof u === 'string')
    .map((u) => new URL(u, location.href).href);
}

async function load(choice: ModelChoice): Promise<void> {
  running?.stop();
  if (choice.mode !== settings.mode && settings.mode !== 'structured' && !query.has('mode')) {
    settings.mode = choice.mode;
    settingsUi.sync();
    input.setMode(settings.mode);
  }
  await session.load(choice, settings);
  if (session.state.status === 'ready') rememberChoice(choice);
}

function send(text: string): void {
  if (running || session.state.status !== 'ready' || !text.trim()) return;
  const backend = session.state.info.backend;
  const mode = settings.mode;
  let entry: ReturnType<Transcript['addAnswer']>;
  if (mode === 'chat') {
    transcript.addUser(text);
    chat.push({ role: 'user', content: text });
    input.input.value = '';
    entry = transcript.addAnswer('chat');
  } else {
    entry = transcript.addAnswer('completion', text);
  }
  const messages: ChatMessage[] = settings.systemPrompt
    ? [{ role: 'system', content: settings.systemPrompt }, ...chat]
    : [...chat];
  const schema = mode === 'structured' ? schemaUi.schema() : null;
  if (mode === 'structured' && schema === null) return;
  const run =
    mode === 'chat'
      ? { mode, messages }
      : { mode: 'completion' as const, prompt: text, jsonSchema: schema ?? undefined };
  const handle = session.run(run, settings, (d) => entry.append(d));
  running = handle;
  input.setRunning(true);
  void handle.done.then(async (outcome) => {
    running = null;
    input.setRunning(false);
    input.setEnabled(session.state.status === 'ready');
    entry.finish(outcome.result, outcome.error, backend);
    if (schema !== null && !outcome.error)
      entry.el.querySelector('.entry-footer')?.prepend(validityBadge(outcome.text, schema));
    if (mode === 'chat') chat.push({ role: 'assistant', content: outcome.text });
    if (outcome.result) metrics.show(outcome.result);
    const stats = await session.engine?.stats().catch(() => undefined);
    if (stats) metrics.showStats(stats);
  });
}

async function boot(): Promise<void> {
  void probeAdapter().then((a) => device.setAdapter(a));
  const env = await fetchEnv();
  if (env?.remote && !settings.remoteUrl && !query.has('remote')) settings.remoteUrl = env.remote;
  settingsUi.sync();
  const local = localModels(env);
  const hub = hubModelList();
  const last = lastChoice();
  const known = [...local, ...hub];
  const recent = last && !known.some((c) => c.id === last.id) ? [{ ...last } as ModelChoice] : [];
  choices = [...known, ...recent];
  const wanted = query.get('model');
  const initial =
    (wanted && choices.find((c) => c.id === wanted || c.label === wanted)) ||
    (last && choices.find((c) => c.id === last.id)) ||
    defaultChoice(local);
  models.setChoices(
    [
      { label: 'Models directory', choices: local },
      { label: 'Hugging Face Hub', choices: hub },
      { label: 'Recent', choices: recent },
    ],
    initial.id,
  );
  void cache.refresh();
  if (query.get('autoload') !== 'off') await load(initial);
}

void boot();
