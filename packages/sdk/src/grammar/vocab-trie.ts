import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** GGUF token types that are never text: unknown and control tokens. */
const NOT_TEXT = new Set([2, 3]);

/**
 * The vocabulary's byte strings as a trie, in arrays (children of a node are contiguous), so a
 * mask is one depth-first walk that prunes every token sharing a dead prefix at once.
 */
export class VocabTrie {
  /** Per node: its byte, first child, child count, and the range of its tokens in `tokenIds`. */
  readonly byte: Uint8Array;
  readonly firstChild: Int32Array;
  readonly childCount: Int32Array;
  readonly tokenStart: Int32Array;
  readonly tokenEnd: Int32Array;
  readonly tokenIds: Int32Array;
  readonly vocabSize: number;
  /** Tokens that end generation: allowed exactly when the grammar is complete. */
  readonly endTokens: Int32Array;

  private readonly bytesOf: (Uint8Array | null)[];

  private constructor(bytesOf: (Uint8Array | null)[], endTokens: number[]) {
    this.bytesOf = bytesOf;
    this.vocabSize = bytesOf.length;
    this.endTokens = Int32Array.from(endTokens);
    // Sorting the byte strings lays the trie out depth-first with contiguous children.
    const order = bytesOf
      .map((b, id) => ({ b, id }))
      .filter((x): x is { b: Uint8Array; id: number } => x.b !== null && x.b.length > 0);
    order.sort((x, y) => compareBytes(x.b, y.b) || x.id - y.id);

    interface Node {
      byte: number;
      children: Node[];
      tokens: number[];
    }
    const root: Node = { byte: 0, children: [], tokens: [] };
    const path: Node[] = [root];
    let prev: Uint8Array = new Uint8Array(0);
    for (const { b, id } of order) {
      let common = 0;
      while (common < prev.length && common < b.length && prev[common] === b[common]) common++;
      path.length = common + 1;
      for (let d = common; d < b.length; d++) {
        const n: Node = { byte: b[d]!, children: [], tokens: [] };
        path[d]!.children.push(n);
        path.push(n);
      }
      path[b.length]!.tokens.push(id);
      prev = b;
    }
    // Breadth-first numbering so each node's children sit next to each other.
    const nodes: Node[] = [root];
    for (let i = 0; i < nodes.length; i++) nodes.push(...nodes[i]!.children);
    const n = nodes.length;
    this.byte = new Uint8Array(n);
    this.firstChild = new Int32Array(n);
    this.childCount = new Int32Array(n);
    this.tokenStart = new Int32Array(n);
    this.tokenEnd = new Int32Array(n);
    const ids: number[] = [];
    let next = 1;
    for (let i = 0; i < n; i++) {
      const node = nodes[i]!;
      this.byte[i] = node.byte;
      this.firstChild[i] = next;
      this.childCount[i] = node.children.length;
      next += node.children.length;
      this.tokenStart[i] = ids.length;
      ids.push(...node.tokens);
      this.tokenEnd[i] = ids.length;
    }
    this.tokenIds = Int32Array.from(ids);
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
    const start = this.firstChild[node]!;
    const end = start + this.childCount[node]!;
    for (let c = start; c < end; c++) if (this.byte[c] === byte) return c;
    return -1;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
