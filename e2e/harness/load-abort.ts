import { createEngine, isEdgeLMError } from '@edgelm/sdk';

declare global {
  interface Window {
    loadAbort: typeof loadAbort;
  }
}

/**
 * Starts loading `url` in the engine's worker and aborts the `signal` given to createEngine once
 * the first bytes have arrived: createEngine must reject with ABORTED and the download stop.
 */
async function loadAbort(url: string): Promise<{ code: string; progressEvents: number; ms: number }> {
  const ac = new AbortController();
  let progressEvents = 0;
  const started = performance.now();
  try {
    await createEngine({
      model: url,
      responseCache: false,
      signal: ac.signal,
      worker: new Worker('/harness/engine-worker.js', { type: 'module' }),
      onProgress: (p) => {
        progressEvents++;
        if (p.phase === 'download' && p.loaded > 0) ac.abort();
      },
    });
    return { code: 'LOADED', progressEvents, ms: performance.now() - started };
  } catch (e) {
    return { code: isEdgeLMError(e) ? e.code : String(e), progressEvents, ms: performance.now() - started };
  }
}

window.loadAbort = loadAbort;
