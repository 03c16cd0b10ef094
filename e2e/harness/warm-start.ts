import { createEngine, isEdgeLMError, type LoadProgress } from '@edgelm/sdk';

declare global {
  interface Window {
    warmStart: typeof warmStart;
  }
}

export interface FirstTokenTiming {
  /** createEngine called → engine ready. */
  loadMs: number;
  /** createEngine called → first generated chunk: what a returning user waits for. */
  firstTokenMs: number;
  /** Whether every weight byte came from the IndexedDB weight store. */
  weightsCached: boolean;
  backend: string;
  error?: string;
}

/** One load-to-first-token as an app does it: the engine in its worker, weights through the cache. */
async function warmStart(backend: 'auto' | 'cpu'): Promise<FirstTokenTiming> {
  const t0 = performance.now();
  let weightsCached = false;
  try {
    const engine = await createEngine({
      model: '/models/stories260K.bin',
      tokenizer: '/models/tok512.bin',
      backend,
      // A response-cache hit would skip the model; this measures loading it.
      responseCache: false,
      worker: new Worker('/harness/engine-worker.js', { type: 'module' }),
      onProgress: (p: LoadProgress) => {
        if (p.phase === 'download' && p.loaded === p.total) weightsCached = p.cached === true;
      },
    });
    const loadMs = performance.now() - t0;
    let firstTokenMs = 0;
    for await (const _ of engine.generate('Once upon a time', { maxTokens: 4 })) {
      firstTokenMs ||= performance.now() - t0;
    }
    const info = await engine.info();
    await engine.unload();
    return { loadMs, firstTokenMs, weightsCached, backend: info.backend };
  } catch (e) {
    const error = isEdgeLMError(e) ? `${e.code}: ${e.message}` : String(e);
    return { loadMs: 0, firstTokenMs: 0, weightsCached, backend, error };
  }
}

window.warmStart = warmStart;
