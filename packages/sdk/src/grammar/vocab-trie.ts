import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** GGUF token types that are never text: unknown and control tokens. */
const NOT_TEXT = new Set([2, 3]);

/**
 * The vocabulary's byte strings as a trie laid out in depth-first preorder: node `i`'s subtree is
 * `[i, end[i])`, so a mask is one forward sweep over flat arrays that jumps past every token
 * sharing a dead prefix at once.
 */
export class VocabTrie {
  /** Per node: the byte that leads to it, its depth (root 0), and where its subtree ends. */
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  readonly end: Int32Array;
  /** The tokens spelled exactly by the path to a node: `tokenIds[tokenStart[i] .. tokenEnd[i])`. */
  readonly tokenStart: Int32Array;
  readonly tokenEnd: Int32Array;
  readonly tokenIds: Int32Array;
  readonly maxDepth: number;
  readonly vocabSize: number;
  /** Tokens that end generation: allowed exactly when the grammar is complete. */
  readonly endTokens: Int32Array;
  private readonly bytesOf: (Uint8Array | null)[];

  private constructor(bytesOf: (Uint8Array | null)[], endTokens: number[]) {
    this.bytesOf = bytesOf;
    this.vocabSize = bytesOf.length;
    this.endTokens = Int32Array.from(endTokens);
    // Latin-1 strings sort like their bytes, with the engine's native comparison.
    const keys: { k: string; id: number }[] = [];
    let total = 1;
    for (let id = 0; id < bytesOf.length; id++) {
      const b = bytesOf[id];
      if (!b || b.length === 0) continue;
      let k = '';
      for (let i = 0; i < b.length; i++) k += String.fromCharCode(b[i]!);
      keys.push({ k, id });
      total += b.length;
    }
    keys.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : x.id - y.id));

    const byte = new Uint8Array(total);
    const depth = new Uint16Array(total);
    const end = new Int32Array(total);
    const tokenStart = new Int32Array(total);
    const tokenEnd = new Int32Array(total);
    const ids = new Int32Array(keys.length);
    const path = [0]; // node index per depth on the current path
    let n = 1;
    let prev = '';
    let maxDepth = 0;
    keys.forEach(({ k, id }, t) => {
      let common = 0;
      while (common < prev.length && common < k.length && prev.charCodeAt(common) === k.charCodeAt(common))
        common++;
      while (path.length > common + 1) end[path.pop()!] = n;
      for (let d = common; d < k.length; d++) {
        byte[n] = k.charCodeAt(d);
        depth[n] = d + 1;
        tokenStart[n] = tokenEnd[n] = t;
        path.push(n++);
      }
      const node = path[k.length]!;
      if (tokenEnd[node] === tokenStart[node]) tokenStart[node] = t;
      tokenEnd[node] = t + 1;
      ids[t] = id;
      if (k.length > maxDepth) maxDepth = k.length;
      prev = k;
    });
    while (path.length > 0) end[path.pop()!] = n;
    this.byte = byte.slice(0, n);
    this.depth = depth.slice(0, n);
    this.end = end.slice(0, n);
    this.tokenStart = tokenStart.slice(0, n);
    this.tokenEnd = tokenEnd.slice(0, n);
    this.tokenIds = ids;
    this.maxDepth = maxDepth;
  }

  get nodeCount(): number {
    return this.byte.length;
  }

  /** The trie of a tokenizer's text tokens; control and unknown tokens are left out. */
  static fromTokenizer(tok: Tokenizer): VocabTrie {
    const types = tok.data.tokenTypes;
    const bytes: (Uint8Array | null)[] = [];
    const ends: number[] = [];
    for (let id = 0; id < tok.vocabSize; id++) {
      if (tok.isEndOfGeneration(id)) ends.push(id);
      const special = id === tok.bos || tok.isEndOfGeneration(id) || (types && NOT_TEXT.has(types[id]!));
      bytes.push(special ? null : tok.tokenBytes(id));
    }
    return new VocabTrie(bytes, ends);
  }

  /** Builds from raw byte strings (null: never allowed). */
  static fromBytes(bytes: (Uint8Array | null)[], endTokens: number[]): VocabTrie {
    return new VocabTrie(bytes, endTokens);
  }

  /** A text token's bytes; null for tokens the trie leaves out. */
  bytes(id: number): Uint8Array | null {
    return this.bytesOf[id] ?? null;
  }

  /** The child of `node` for `byte`, or -1. */
  child(node: number, byte: number): number {
    const stop = this.end[node]!;
    for (let c = node + 1; c < stop; c = this.end[c]!) if (this.byte[c] === byte) return c;
    return -1;
  }
}
