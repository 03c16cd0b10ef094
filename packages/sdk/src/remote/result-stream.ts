import type { GenerateChunk, GenerateResult, GenerateStream } from '../api/types.js';

/**
 * A {@link GenerateStream} fed by a producer that runs eagerly: awaiting `result` alone is
 * enough to drive the request, and chunks not yet read wait in a queue. Iteration may happen
 * once; an error reaches both the iterator and `result`.
 */
export class PushStream implements GenerateStream {
  readonly result: Promise<GenerateResult>;
  private readonly queue: GenerateChunk[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private done = false;
  private error: unknown;
  private resolveResult!: (r: GenerateResult) => void;
  private rejectResult!: (e: unknown) => void;

  constructor() {
    this.result = new Promise<GenerateResult>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Callers that only iterate see the error there; the result must not also count as unhandled.
    this.result.catch(() => {});
  }

  push(chunk: GenerateChunk): void {
    this.queue.push(chunk);
    this.signal();
  }

  finish(result: GenerateResult): void {
    this.done = true;
    this.resolveResult(result);
    this.signal();
  }

  fail(error: unknown): void {
    this.done = true;
    this.error = error;
    this.rejectResult(error);
    this.signal();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GenerateChunk, void, undefined> {
    for (;;) {
      if (this.head < this.queue.length) {
        const chunk = this.queue[this.head];
        this.queue[this.head++] = undefined as unknown as GenerateChunk;
        yield chunk;
        continue;
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
