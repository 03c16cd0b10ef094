import { EdgeLMError } from '@edgelm/sdk';

/**
 * The generations the server is serving, so that shutdown can let them finish and, past its
 * deadline, abort them: an aborted generation still ends its response properly — a stream with
 * an error event (`shutting_down`) and `[DONE]`, a non-streamed request with 503 — instead of a
 * cut connection or a cut answer passed off as complete.
 */
export class InFlight {
  private readonly open = new Set<AbortController>();
  private waiters: (() => void)[] = [];
  draining = false;

  get size(): number {
    return this.open.size;
  }

  /** Registers a generation; call the returned function when its response has ended. */
  track(controller: AbortController): () => void {
    this.open.add(controller);
    return () => {
      this.open.delete(controller);
      if (this.open.size === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves true when all tracked generations ended within `ms`, false on timeout. */
  idle(ms: number): Promise<boolean> {
    if (this.open.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      this.waiters.push(done);
    });
  }

  /** Stops new work, waits up to `graceMs` for open generations, then aborts the rest. */
  async drain(graceMs: number, abortWaitMs = 5_000): Promise<{ finished: boolean; aborted: number }> {
    this.draining = true;
    if (await this.idle(graceMs)) return { finished: true, aborted: 0 };
    const aborted = this.open.size;
    for (const c of this.open) c.abort(new EdgeLMError('DISPOSED', 'The server is shutting down'));
    await this.idle(abortWaitMs);
    return { finished: false, aborted };
  }
}
