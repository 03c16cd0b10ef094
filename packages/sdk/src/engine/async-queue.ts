interface Waiter<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (e: unknown) => void;
}

/**
 * A one-consumer push queue exposed as an async iterable: the scheduler pushes chunks at token
 * boundaries and the caller's `for await` drains them, however far apart the two run.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: Waiter<T> | null = null;
  private done = false;
  private failure: unknown = undefined;
  private cancel: (() => void) | null = null;

  push(item: T): void {
    if (this.done) return;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve({ value: item, done: false });
    } else this.items.push(item);
  }

  /** Ends the stream, with an error that the consumer's next read throws. */
  close(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      if (error === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(error);
    }
  }

  /** Called when the consumer stops iterating early (break, return). */
  onCancel(fn: () => void): void {
    this.cancel = fn;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.done) {
          return this.failure === undefined
            ? Promise.resolve({ value: undefined, done: true })
            : Promise.reject(this.failure);
        }
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
        });
      },
      return: () => {
        if (!this.done) this.cancel?.();
        this.done = true;
        this.items = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
