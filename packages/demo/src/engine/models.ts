import type { DemoEnv } from '../../plugins/models-dir.js';
import hubModels from '../data/hub-models.json' with { type: 'json' };
import { baseName } from '../lib/format.js';

export type ModelFormat = 'llama2c' | 'gguf' | 'onnx';
export type ModelOrigin = 'local' | 'hub' | 'url' | 'file' | 'cached';

/** A model the picker offers: where its bytes come from and how to prompt it. */
export interface ModelChoice {
  id: string;
  label: string;
  description: string;
  format: ModelFormat;
  origin: ModelOrigin;
  /** URL (absolute or same-origin path) or a dropped file. */
  model: string | File;
  tokenizer?: string | File;
  size?: number;
  /** Base models continue text; instruction-tuned ones chat. */
  mode: 'completion' | 'chat';
}

/** A choice that survives a reload (files cannot be stored; URLs can). */
export type StoredChoice = Omit<ModelChoice, 'model' | 'tokenizer'> & { model: string; tokenizer?: string };

const HUB: ModelChoice[] = hubModels.map((m) => ({
  ...m,
  origin: 'hub',
  format: m.format as ModelFormat,
  mode: m.mode as 'completion',
}));

/** The dev/preview server's description of itself; undefined when it cannot be reached (offline). */
export async function fetchEnv(): Promise<DemoEnv | undefined> {
  try {
    const res = await fetch('/__edgelm/env.json', { cache: 'no-store' });
    if (!res.ok) return undefined;
    return (await res.json()) as DemoEnv;
  } catch {
    return undefined;
  }
}

/** Models of the server's models directory; llama2.c checkpoints get the folder's tokenizer. */
export function localModels(env: DemoEnv | undefined): ModelChoice[] {
  if (!env) return [];
  const tokenizers = env.models.filter((m) => m.kind === 'tokenizer');
  const out: ModelChoice[] = [];
  for (const m of env.models) {
    if (m.kind === 'tokenizer') continue;
    const name = baseName(m.path).replace(/\.(bin|gguf|onnx)$/, '');
    const tok =
      m.kind === 'llama2c'
        ? pickTokenizer(
            name,
            tokenizers.map((t) => t.path),
          )
        : undefined;
    if (m.kind === 'llama2c' && !tok) continue;
    out.push({
      id: `local:${m.path}`,
      label: name,
      description: `models directory · ${formatLabel(m.kind)}`,
      format: m.kind,
      origin: 'local',
      model: `/models/${m.path}`,
      tokenizer: tok ? `/models/${tok}` : undefined,
      size: m.size,
      mode: /instruct|chat/i.test(name) ? 'chat' : 'completion',
    });
  }
  return out;
}

/** stories260K pairs with tok512.bin; other checkpoints take the Llama 2 tokenizer.bin. */
function pickTokenizer(model: string, tokenizers: string[]): string | undefined {
  if (model.includes('260K')) return tokenizers.find((t) => t.endsWith('tok512.bin'));
  return tokenizers.find((t) => t.endsWith('tokenizer.bin')) ?? tokenizers[0];
}

export function hubModelList(): ModelChoice[] {
  return HUB;
}

/** The model a fresh visit loads: stories260K from the models directory, else from the Hub. */
export function defaultChoice(local: ModelChoice[]): ModelChoice {
  return local.find((m) => m.label === 'stories260K') ?? HUB[0];
}

export function formatLabel(f: ModelFormat): string {
  return f === 'llama2c' ? 'llama2.c' : f === 'gguf' ? 'GGUF' : 'ONNX';
}

/** Guesses the format of a URL the user typed. */
export function choiceFromUrl(url: string, tokenizer?: string): ModelChoice {
  const name = baseName(url);
  const format: ModelFormat = /\.gguf$/i.test(name) ? 'gguf' : /\.onnx$|\/$/i.test(url) ? 'onnx' : 'llama2c';
  return {
    id: `url:${url}`,
    label: name.replace(/\.(bin|gguf|onnx)$/i, ''),
    description: `${formatLabel(format)} · ${new URL(url, location.href).host}`,
    format,
    origin: 'url',
    model: url,
    tokenizer: tokenizer || undefined,
    mode: /instruct|chat/i.test(name) ? 'chat' : 'completion',
  };
}

/**
 * Dropped files: a model (GGUF, or a llama2.c checkpoint with its tokenizer dropped alongside,
 * or else stories260K's tokenizer from `fallbackTokenizer`).
 */
export function choiceFromFiles(files: File[], fallbackTokenizer?: string): ModelChoice | undefined {
  const tok = files.find((f) => /^tok.*\.bin$/i.test(f.name));
  const model = files.find((f) => f !== tok && /\.(bin|gguf)$/i.test(f.name));
  if (!model) return undefined;
  const format: ModelFormat = /\.gguf$/i.test(model.name) ? 'gguf' : 'llama2c';
  return {
    id: `file:${model.name}:${model.size}`,
    label: model.name.replace(/\.(bin|gguf)$/i, ''),
    description: `dropped file · ${formatLabel(format)}`,
    format,
    origin: 'file',
    model,
    tokenizer: format === 'llama2c' ? (tok ?? fallbackTokenizer) : undefined,
    size: model.size,
    mode: /instruct|chat/i.test(model.name) ? 'chat' : 'completion',
  };
}

const LAST_KEY = 'edgelm.demo.lastModel';

/** Remembers a URL model, so the next visit (even offline) loads it from the weight cache. */
export function rememberChoice(choice: ModelChoice): void {
  if (
    typeof choice.model !== 'string' ||
    (choice.tokenizer !== undefined && typeof choice.tokenizer !== 'string')
  )
    return;
  localStorage.setItem(LAST_KEY, JSON.stringify(choice));
}

export function lastChoice(): StoredChoice | undefined {
  try {
    const raw = localStorage.getItem(LAST_KEY);
    return raw ? (JSON.parse(raw) as StoredChoice) : undefined;
  } catch {
    return undefined;
  }
}
