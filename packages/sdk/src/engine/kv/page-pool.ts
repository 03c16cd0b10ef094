import { EdgeLMError } from '../../errors.js';

/**
 * The free list of physical KV pages. Pages are handed to sequences and to the prefix cache;
 * whoever holds a page returns it exactly once.
 */
export class PagePool {
  private readonly free: number[];

  constructor(readonly pageCount: number) {
    // Low ids first: keeps a small working set at the start of the cache buffers.
    this.free = Array.from({ length: pageCount }, (_, i) => pageCount - 1 - i);
  }

  get available(): number {
    return this.free.length;
  }

  /** A free page, or -1 when none is left (the caller evicts or waits). */
  tryAllocate(): number {
    return this.free.pop() ?? -1;
  }

  release(page: number): void {
    if (page < 0 || page >= this.pageCount) {
      throw new EdgeLMError('INTERNAL', `Page ${page} is not in the pool`, { page });
    }
    this.free.push(page);
  }
}
