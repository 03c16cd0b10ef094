/** Symbol positions fit below this, so (priority, position) packs into one exact double. */
export const MAX_SYMBOLS = 2 ** 26;

/**
 * The candidate merges of one word, best first: a binary min-heap on (priority, left symbol),
 * so equal priorities merge leftmost first as llama.cpp's `llm_bigram_*` comparators do. Both
 * pack into one double (`priority * 2^26 + left`: integer priorities, exact below 2^53), so a
 * sift moves two numbers. Stale entries are not removed; the merger skips them when they surface
 * (lazy deletion), which keeps every operation O(log n) and a whole word O(n log n).
 */
export class MergeQueue {
  private key = new Float64Array(64);
  private aux = new Int32Array(64);
  length = 0;
  /** The last popped entry. */
  topPrio = 0;
  topLeft = 0;
  topAux = 0;

  clear(): void {
    this.length = 0;
  }

  /** `prio`: a non-negative integer, lower first; `aux`: whatever the merger checks staleness by. */
  push(prio: number, left: number, aux: number): void {
    if (this.length === this.key.length) this.grow();
    const key = prio * MAX_SYMBOLS + left;
    const keys = this.key;
    let i = this.length++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= key) break;
      keys[i] = keys[p]!;
      this.aux[i] = this.aux[p]!;
      i = p;
    }
    keys[i] = key;
    this.aux[i] = aux;
  }

  /** Removes the best entry into `topPrio`, `topLeft`, `topAux`. */
  pop(): void {
    const keys = this.key;
    const auxs = this.aux;
    const top = keys[0]!;
    this.topPrio = Math.floor(top / MAX_SYMBOLS);
    this.topLeft = top - this.topPrio * MAX_SYMBOLS;
    this.topAux = auxs[0]!;
    const n = --this.length;
    if (n === 0) return;
    const key = keys[n]!;
    const aux = auxs[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= key) break;
      keys[i] = keys[c]!;
      auxs[i] = auxs[c]!;
      i = c;
    }
    keys[i] = key;
    auxs[i] = aux;
  }

  private grow(): void {
    const key = new Float64Array(this.key.length * 2);
    key.set(this.key);
    const aux = new Int32Array(this.aux.length * 2);
    aux.set(this.aux);
    this.key = key;
    this.aux = aux;
  }
}

/**
 * The symbols of the word being merged, as a doubly linked list over typed arrays: `id` (token
 * or symbol id), `start` (offset into the word), `len` (0 once merged into its left neighbour),
 * `prev`/`next` (-1 at the ends). One per encode call, so interleaved async encodes never share.
 */
export class MergeScratch {
  id = new Int32Array(256);
  start = new Int32Array(256);
  len = new Int32Array(256);
  prev = new Int32Array(256);
  next = new Int32Array(256);
  bytes = new Uint8Array(1024);
  readonly queue = new MergeQueue();

  /** Room for n symbols. */
  reserve(n: number): void {
    if (n <= this.id.length) return;
    let cap = this.id.length;
    while (cap < n) cap *= 2;
    this.id = new Int32Array(cap);
    this.start = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }

  /** Room for n bytes. */
  reserveBytes(n: number): void {
    if (n <= this.bytes.length) return;
    let cap = this.bytes.length;
    while (cap < n) cap *= 2;
    this.bytes = new Uint8Array(cap);
  }
}

/** How many merges or characters one encode step does before it offers to pause. */
export const WORK_QUANTUM = 4096;
