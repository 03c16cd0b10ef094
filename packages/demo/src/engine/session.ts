import {
  type ChatMessage,
  createEngine,
  type Engine,
  type EngineInfo,
  type FallbackPolicy,
  type GenerateResult,
  isEdgeLMError,
  type JsonSchema,
  type LoadProgress,
  type RequestMetrics,
} from '@edgelm/sdk';
import type { Settings } from '../lib/settings.js';
import type { ModelChoice } from './models.js';

export type ResultSummary = Omit<GenerateResult, 'text' | 'tokens'>;

export type SessionState =
  | { status: 'idle' }
  | { status: 'loading'; choice: ModelChoice; progress: LoadProgress | null }
  | { status: 'ready'; choice: ModelChoice; info: EngineInfo; loadMs: number; fromCache: boolean }
  | { status: 'error'; choice: ModelChoice; message: string; code?: string };

/** What one generation asks for. */
export type RunInput =
  | { mode: 'completion'; prompt: string; jsonSchema?: JsonSchema }
  | { mode: 'chat'; messages: ChatMessage[] };

export interface RunOutcome {
  text: string;
  result: ResultSummary | null;
  error?: { message: string; code?: string };
}

export interface RunHandle {
  stop(): void;
  done: Promise<RunOutcome>;
}

type Listener = (s: SessionState) => void;

/**
 * The demo's one engine: loads a model in the SDK's worker, keeps its state for the panels, and
 * runs generations in either completion or chat form with the current settings.
 */
export class Session {
  state: SessionState = { status: 'idle' };
  engine: Engine | null = null;
  lastMetrics: RequestMetrics | null = null;
  private readonly listeners = new Set<Listener>();
  private loadSeq = 0;

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  private set(state: SessionState): void {
    this.state = state;
    for (const fn of this.listeners) fn(state);
  }

  /** Loads a model, replacing the current one; a newer load supersedes an older one still running. */
  async load(choice: ModelChoice, settings: Settings): Promise<void> {
    const seq = ++this.loadSeq;
    const old = this.engine;
    this.engine = null;
    void old?.unload().catch(() => {});
    if (choice.format === 'onnx') {
      // The SDK has an ONNX backend (onnxruntime-web) but createEngine only opens GGUF and
      // llama2.c files; say so instead of failing on the bytes.
      this.set({
        status: 'error',
        choice,
        code: 'UNSUPPORTED_TYPE',
        message:
          'ONNX exports run on the SDK onnx backend, which createEngine cannot load yet: use a GGUF or llama2.c file',
      });
      return;
    }
    this.set({ status: 'loading', choice, progress: null });
    const t0 = performance.now();
    let fromCache = false;
    try {
      const engine = await createEngine({
        model: choice.model,
        tokenizer: choice.tokenizer,
        backend: settings.backend,
        fallback: fallbackPolicy(settings),
        onProgress: (p) => {
          if (p.phase === 'download' && p.cached) fromCache = true;
          if (seq === this.loadSeq) this.set({ status: 'loading', choice, progress: p });
        },
        onMetrics: (m) => {
          this.lastMetrics = m;
        },
      });
      if (seq !== this.loadSeq) {
        void engine.unload();
        return;
      }
      const info = await engine.info();
      this.engine = engine;
      this.set({ status: 'ready', choice, info, loadMs: performance.now() - t0, fromCache });
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.set({ status: 'error', choice, ...describeError(e) });
    }
  }

  /** Streams one generation; `onText` gets each delta as it arrives. */
  run(input: RunInput, settings: Settings, onText: (delta: string) => void): RunHandle {
    const ac = new AbortController();
    const done = this.execute(input, settings, onText, ac.signal);
    return { stop: () => ac.abort(), done };
  }

  private async execute(
    input: RunInput,
    s: Settings,
    onText: (delta: string) => void,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    const engine = this.engine;
    if (!engine) return { text: '', result: null, error: { message: 'No model is loaded' } };
    let text = '';
    const cache = s.cache ? undefined : false;
    const seed = s.seed ?? undefined;
    try {
      if (input.mode === 'completion') {
        const stream = engine.generate(input.prompt, {
          maxTokens: s.maxTokens,
          temperature: s.temperature,
          topK: s.topK,
          topP: s.topP,
          seed,
          cache,
          route: s.route,
          signal,
          jsonSchema: input.jsonSchema,
        });
        for await (const c of stream) {
          text += c.text;
          if (c.text) onText(c.text);
        }
        const { text: _t, tokens: _k, ...result } = await stream.result;
        return { text, result };
      }
      const chunks = await engine.chat.completions.create({
        messages: input.messages,
        stream: true,
        max_tokens: s.maxTokens,
        temperature: s.temperature,
        top_k: s.topK,
        top_p: s.topP,
        seed,
        cache,
        signal,
      });
      let result: ResultSummary | null = null;
      for await (const c of chunks) {
        const delta = c.choices[0]?.delta.content ?? '';
        if (delta) {
          text += delta;
          onText(delta);
        }
        if (c.edgelm) result = c.edgelm;
      }
      return { text, result };
    } catch (e) {
      return { text, result: null, error: describeError(e) };
    }
  }
}

function fallbackPolicy(s: Settings): FallbackPolicy | undefined {
  if (!s.remoteUrl.trim()) return undefined;
  return { url: new URL(s.remoteUrl.trim(), location.href).href, privacy: s.privacy };
}

export function describeError(e: unknown): { message: string; code?: string } {
  if (isEdgeLMError(e)) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? e.message : String(e) };
}
