import { createEngine, type Engine, type EngineInfo, isEdgeLMError } from '@edgelm/sdk';

/** Everything crosses page.evaluate as JSON, errors included. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export interface ResponsivenessReport {
  text: string;
  tokens: number;
  chunks: number;
  generateMs: number;
  /** Longest gap between 5 ms timer ticks on the page's main thread while generating. */
  maxTimerGapMs: number;
  ticks: number;
  /** Long tasks (≥ 50 ms) the page's main thread ran while generating. */
  longTasks: number[];
}

declare global {
  interface Window {
    engineHarness: typeof harness;
  }
}

let engine: Engine | undefined;

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (isEdgeLMError(e)) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: 'THROWN', message: String(e) };
  }
}

const harness = {
  /** Starts the engine in its dedicated worker (the default of createEngine in a page). */
  load(backend: 'auto' | 'cpu' | 'webgpu'): Promise<Outcome<EngineInfo>> {
    return outcome(async () => {
      await engine?.unload();
      engine = await createEngine({
        model: '/models/stories260K.bin',
        tokenizer: '/models/tok512.bin',
        backend,
        cacheWeights: false,
        responseCache: false,
        worker: new Worker('/harness/engine-worker.js', { type: 'module' }),
      });
      return engine.info();
    });
  },

  /** Generates while measuring how free the main thread stays. */
  generate(prompt: string, maxTokens: number): Promise<Outcome<ResponsivenessReport>> {
    return outcome(async () => {
      if (!engine) throw new Error('load first');
      const longTasks: number[] = [];
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) longTasks.push(e.duration);
      });
      obs.observe({ type: 'longtask' });
      let last = performance.now();
      let maxGap = 0;
      let ticks = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
      }, 5);
      const t0 = performance.now();
      const s = engine.generate(prompt, { maxTokens });
      let text = '';
      let chunks = 0;
      for await (const c of s) {
        text += c.text;
        chunks++;
      }
      const r = await s.result;
      const generateMs = performance.now() - t0;
      clearInterval(timer);
      obs.disconnect();
      return {
        text,
        tokens: r.usage.completionTokens,
        chunks,
        generateMs,
        maxTimerGapMs: maxGap,
        ticks,
        longTasks,
      };
    });
  },

  /** Aborts a stream after `after` chunks; then runs a fresh request on the same engine. */
  abortThenAgain(
    prompt: string,
    after: number,
  ): Promise<Outcome<{ finish: string; chunks: number; next: string }>> {
    return outcome(async () => {
      if (!engine) throw new Error('load first');
      const ac = new AbortController();
      const s = engine.generate(prompt, { maxTokens: 400, signal: ac.signal });
      let chunks = 0;
      for await (const _ of s) if (++chunks === after) ac.abort();
      const r = await s.result;
      const again = engine.generate(prompt, { maxTokens: 20 });
      for await (const _ of again) {
        // drain
      }
      return { finish: r.finishReason, chunks, next: (await again.result).text };
    });
  },

  /** A request the device cannot serve and may not send away: its typed error must cross the worker. */
  overflow(): Promise<Outcome<string>> {
    return outcome(async () => {
      if (!engine) throw new Error('load first');
      const s = engine.generate('Once upon a time', { maxTokens: 5000 });
      for await (const _ of s) {
        // drain
      }
      return (await s.result).text;
    });
  },
};

window.engineHarness = harness;
