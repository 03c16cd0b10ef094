import type { PagePool } from './page-pool.js';

/** One full page of tokens whose K/V is kept for reuse. */
interface Node {
  /** The page's token ids joined, the key under its parent. */
  key: string;
  page: number;
  parent: Node | null;
  children: Map<string, Node>;
  /** Sequences currently reading this page; a node in use is never evicted. */
  refs: number;
  lastUsed: number;
}

/** A matched prefix: its pages, in order, and the node to release when done. */
export interface PrefixMatch {
  pages: number[];
  tokens: number;
  /** The deepest matched node; pass to {@link PrefixCache.release}. */
  handle: Node | null;
}

/**
 * A radix tree over token ids at page granularity: each edge is one full page of `pageSize`
 * token ids and owns the physical page holding their K/V. Any request whose tokens start with
 * a path in the tree reuses those pages instead of recomputing them — the next turn of a chat,
 * a shared system prompt, a regenerate, an edited last message.
 *
 * Only full pages are shared, so a page is never written after it enters the tree and sharing
 * needs no copy-on-write. Leaves with no readers are evicted least-recently-used first when
 * the pool runs dry or the tree outgrows its page budget.
 */
export class PrefixCache {
  private readonly root: Node = {
    key: '',
    page: -1,
    parent: null,
    children: new Map(),
    refs: 0,
    lastUsed: 0,
  };
  private clock = 0;
  private size = 0;

  constructor(
    private readonly pool: PagePool,
    readonly pageSize: number,
    /** Most pages the tree may keep (its byte budget divided by the page size). */
    private maxPages: number,
  ) {}

  get pages(): number {
    return this.size;
  }

  setBudget(maxPages: number): void {
    this.maxPages = maxPages;
    this.evict(0);
  }

  private keyAt(tokens: ArrayLike<number>, page: number): string {
    let k = '';
    for (let i = page * this.pageSize; i < (page + 1) * this.pageSize; i++) k += `${tokens[i]},`;
    return k;
  }

  /**
   * The longest cached prefix of `tokens`, limited to `maxTokens` (callers keep at least one
   * token to compute, since logits are not cached). Takes a reference on every matched node.
   */
  match(tokens: ArrayLike<number>, maxTokens: number): PrefixMatch {
    const pages: number[] = [];
    let node = this.root;
    const now = ++this.clock;
    const full = Math.floor(Math.min(tokens.length, maxTokens) / this.pageSize);
    for (let p = 0; p < full; p++) {
      const child = node.children.get(this.keyAt(tokens, p));
      if (!child) break;
      child.refs++;
      child.lastUsed = now;
      pages.push(child.page);
      node = child;
    }
    return { pages, tokens: pages.length * this.pageSize, handle: node === this.root ? null : node };
  }

  /** Drops the references `match` took. */
  release(handle: Node | null): void {
    for (let n = handle; n && n !== this.root; n = n.parent) n.refs--;
  }

  /**
   * Offers a finished sequence's full pages to the tree. Pages the tree takes become its own;
   * pages it already has (another sequence got there first) are returned to the pool here;
   * the caller keeps ownership of nothing it passed.
   */
  insert(tokens: ArrayLike<number>, pages: readonly number[], computedTokens: number): void {
    let node = this.root;
    const now = ++this.clock;
    const full = Math.min(Math.floor(computedTokens / this.pageSize), pages.length);
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p]!;
      if (p >= full) {
        this.pool.release(page);
        continue;
      }
      const key = this.keyAt(tokens, p);
      let child = node.children.get(key);
      if (child) {
        if (child.page !== page) this.pool.release(page);
      } else {
        child = { key, page, parent: node, children: new Map(), refs: 0, lastUsed: now };
        node.children.set(key, child);
        this.size++;
      }
      child.lastUsed = now;
      node = child;
    }
    this.evict(0);
  }

  /**
   * Evicts unreferenced leaves, least recently used first, until the tree is within budget and
   * at least `wantFree` pages are free in the pool. Returns whether `wantFree` was reached.
   */
  evict(wantFree: number): boolean {
    while (this.size > this.maxPages || this.pool.available < wantFree) {
      const victim = this.lruLeaf();
      if (!victim) return this.pool.available >= wantFree;
      victim.parent!.children.delete(victim.key);
      this.pool.release(victim.page);
      this.size--;
    }
    return true;
  }

  private lruLeaf(): Node | null {
    let best: Node | null = null;
    const stack: Node[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n !== this.root && n.children.size === 0 && n.refs === 0) {
        if (!best || n.lastUsed < best.lastUsed) best = n;
      }
      for (const c of n.children.values()) stack.push(c);
    }
    return best;
  }

  /** Empties the tree (unused nodes only; nodes in use stay). */
  clear(): void {
    const saved = this.maxPages;
    this.maxPages = 0;
    this.evict(0);
    this.maxPages = saved;
  }
}
