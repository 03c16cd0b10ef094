import { SAMPLE_SCHEMA } from '../ui/schema-panel.js';

/** Everything the settings panel controls; persisted in localStorage. */
export interface Settings {
  /** 'structured': a completion constrained to the JSON Schema in `schema`. */
  mode: 'completion' | 'chat' | 'structured';
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topK: number;
  topP: number;
  /** Empty = unseeded. */
  seed: number | null;
  /** Response cache: on caches deterministic requests; off skips it. */
  cache: boolean;
  route: 'auto' | 'local' | 'remote';
  backend: 'auto' | 'webgpu' | 'cpu';
  /** Fallback server base URL ('' = none). */
  remoteUrl: string;
  privacy: 'allow-remote' | 'local-only';
  systemPrompt: string;
  /** The structured mode's JSON Schema, as typed. */
  schema: string;
}

export const DEFAULT_SETTINGS: Settings = {
  mode: 'completion',
  maxTokens: 128,
  temperature: 0,
  topK: 0,
  topP: 1,
  seed: null,
  cache: true,
  route: 'auto',
  backend: 'auto',
  remoteUrl: '',
  privacy: 'allow-remote',
  systemPrompt: '',
  schema: SAMPLE_SCHEMA,
};

const KEY = 'edgelm.demo.settings';

export function loadSettings(): Settings {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? { ...DEFAULT_SETTINGS, ...(JSON.parse(raw) as Partial<Settings>) } : { ...DEFAULT_SETTINGS };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(s: Settings): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

/**
 * Settings given in the address (`?remote=/remote/v1&route=auto&backend=cpu&maxTokens=64`) win
 * over stored ones, so a link (or a test) can set up a scenario.
 */
export function applyQuery(s: Settings, query: URLSearchParams): Settings {
  const out = { ...s };
  const str = <K extends keyof Settings>(k: K, allowed?: readonly string[]) => {
    const v = query.get(k);
    if (v !== null && (!allowed || allowed.includes(v))) (out[k] as string) = v;
  };
  const num = (k: 'maxTokens' | 'temperature' | 'topK' | 'topP') => {
    const v = Number(query.get(k));
    if (query.has(k) && Number.isFinite(v)) out[k] = v;
  };
  str('mode', ['completion', 'chat', 'structured']);
  str('route', ['auto', 'local', 'remote']);
  str('backend', ['auto', 'webgpu', 'cpu']);
  str('privacy', ['allow-remote', 'local-only']);
  if (query.has('remote')) out.remoteUrl = query.get('remote') ?? '';
  num('maxTokens');
  num('temperature');
  num('topK');
  num('topP');
  if (query.has('seed')) out.seed = query.get('seed') === '' ? null : Number(query.get('seed'));
  if (query.has('cache')) out.cache = query.get('cache') !== 'off';
  return out;
}
