import { WORK_QUANTUM } from './merge-queue.js';
import { TOKEN_TYPE, type TokenizerData } from './tokenizer-data.js';

// C's isspace, which llama.cpp strips with
const ASCII_SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);
const NO_RSTRIP = new Set(['<unk>', '<s>', '<|endoftext|>']);

interface TrieNode {
  next: Map<number, TrieNode> | null;
  /** Index into `SpecialTokens.order`, or -1. */
  token: number;
}

/**
 * A text cut into pieces: `id[i] >= 0` is a special token, `id[i] === -1` the raw text
 * `text.slice(start[i], end[i])` that the subword model then encodes.
 */
export interface Fragments {
  id: number[];
  start: number[];
  end: number[];
}

/**
 * Finds special tokens in text as llama.cpp's `tokenizer_st_partition` does: candidates are the
 * control, unknown and user-defined tokens; longer texts claim their occurrences first, then
 * shorter ones within what is left. User-defined tokens (`<think>`, …) are always found; control
 * and unknown ones (`<|im_start|>`, `<s>`…) only where the caller allows special parsing, so text a
 * user typed cannot forge them.
 *
 * One scan over a trie finds every occurrence (O(length × longest token)); the claiming order
 * is then applied to those occurrences only.
 */
export class SpecialTokens {
  /** Candidate ids, longest UTF-8 text first (llama.cpp's `cache_special_tokens` order). */
  private readonly order: number[];
  private readonly always: Uint8Array;
  private readonly root: TrieNode = { next: new Map(), token: -1 };
  private readonly first = new Uint8Array(65536);
  readonly hasAlways: boolean;
  readonly count: number;

  constructor(private readonly data: TokenizerData) {
    const types = data.tokenTypes;
    const ids: number[] = [];
    if (types) {
      for (let id = 0; id < data.tokens.length; id++) {
        const t = types[id];
        if (t === TOKEN_TYPE.control || t === TOKEN_TYPE.unknown || t === TOKEN_TYPE.userDefined) {
          if (data.tokens[id]!.length > 0) ids.push(id);
        }
      }
    }
    const bytes = (id: number) => new TextEncoder().encode(data.tokens[id]).length;
    const size = new Map(ids.map((id) => [id, bytes(id)]));
    ids.sort((a, b) => size.get(b)! - size.get(a)! || a - b);
    this.order = ids;
    this.count = ids.length;
    this.always = Uint8Array.from(ids, (id) => (types?.[id] === TOKEN_TYPE.userDefined ? 1 : 0));
    this.hasAlways = this.always.includes(1);
    ids.forEach((id, k) => {
      const text = data.tokens[id]!;
      let node = this.root;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        node.next ??= new Map();
        let child = node.next.get(c);
        if (!child) {
          child = { next: null, token: -1 };
          node.next.set(c, child);
        }
        node = child;
      }
      if (node.token === -1) node.token = k;
      this.first[text.charCodeAt(0)] = 1;
    });
  }

  /**
   * Cuts `text` into special tokens and raw text. `special` says where control tokens may be
   * recognised: everywhere (`true`), nowhere (`false`), or per code unit (1 = template text).
   */
  *partition(text: string, special: boolean | Uint8Array): Generator<void, Fragments> {
    const whole: Fragments = { id: [-1], start: [0], end: [text.length] };
    if (text.length === 0) return { id: [], start: [], end: [] };
    if (this.count === 0 || (special === false && !this.hasAlways)) return whole;
    // every occurrence of a token that may match at all: (claim order, position)
    const occK: number[] = [];
    const occPos: number[] = [];
    const cap = text.length + 256;
    let work = 0;
    for (let i = 0; i < text.length && occK.length <= cap; i++) {
      if (++work >= WORK_QUANTUM * 16) {
        work = 0;
        yield;
      }
      if (this.first[text.charCodeAt(i)] === 0) continue;
      let node: TrieNode | undefined = this.root;
      for (let j = i; j < text.length && node?.next; j++) {
        node = node.next.get(text.charCodeAt(j));
        if (node && node.token >= 0 && (special !== false || this.always[node.token])) {
          occK.push(node.token);
          occPos.push(i);
        }
      }
    }
    if (occK.length === 0) return whole;
    const acceptedPos: number[] = [];
    const acceptedK: number[] = [];
    if (occK.length > cap) {
      // Text dense with nested matches (a megabyte of spaces against Gemma's space-run tokens):
      // claiming longest-first over every occurrence would cost memory per occurrence, so take the
      // longest match from left to right instead, which agrees with it on such runs.
      yield* this.greedy(text, special, acceptedPos, acceptedK);
    } else this.claim(text, special, occK, occPos, acceptedPos, acceptedK);
    const byPos = acceptedPos.map((_, i) => i).sort((a, b) => acceptedPos[a]! - acceptedPos[b]!);
    const out: Fragments = { id: [], start: [], end: [] };
    let at = 0;
    for (let k = 0; k < byPos.length; k++) {
      const i = byPos[k]!;
      const pos = acceptedPos[i]!;
      if (pos < at) continue; // its whitespace was stripped by the token before
      const id = this.order[acceptedK[i]!]!;
      if (pos > at) {
        out.id.push(-1);
        out.start.push(at);
        out.end.push(pos);
      }
      at = pos + this.data.tokens[id]!.length;
      out.id.push(id);
      out.start.push(pos);
      out.end.push(at);
      if (this.data.rstripSpecials && !NO_RSTRIP.has(this.data.tokens[id]!)) {
        const limit = k + 1 < byPos.length ? acceptedPos[byPos[k + 1]!]! : text.length;
        while (at < limit && ASCII_SPACE.has(text.charCodeAt(at))) at++;
      }
    }
    if (at < text.length) {
      out.id.push(-1);
      out.start.push(at);
      out.end.push(text.length);
    }
    return out;
  }

  /** llama.cpp's order: longer tokens claim their occurrences first, left to right; no overlaps. */
  private claim(
    text: string,
    special: boolean | Uint8Array,
    occK: number[],
    occPos: number[],
    acceptedPos: number[],
    acceptedK: number[],
  ): void {
    const idx = occK.map((_, i) => i);
    idx.sort((a, b) => occK[a]! - occK[b]! || occPos[a]! - occPos[b]!);
    const taken = new Uint8Array(text.length);
    for (const o of idx) {
      const k = occK[o]!;
      const pos = occPos[o]!;
      const len = this.data.tokens[this.order[k]!]!.length;
      if (!this.allowed(k, pos, len, special)) continue;
      let free = true;
      for (let j = pos; j < pos + len; j++) {
        if (taken[j]) {
          free = false;
          break;
        }
      }
      if (!free) continue;
      taken.fill(1, pos, pos + len);
      acceptedPos.push(pos);
      acceptedK.push(k);
    }
  }

  /** Leftmost-longest matching, for texts with too many nested occurrences to claim one by one. */
  private *greedy(
    text: string,
    special: boolean | Uint8Array,
    acceptedPos: number[],
    acceptedK: number[],
  ): Generator<void> {
    let work = 0;
    for (let i = 0; i < text.length; ) {
      if (++work >= WORK_QUANTUM * 16) {
        work = 0;
        yield;
      }
      let best = -1;
      let bestLen = 0;
      if (this.first[text.charCodeAt(i)]) {
        let node: TrieNode | undefined = this.root;
        for (let j = i; j < text.length && node?.next; j++) {
          node = node.next.get(text.charCodeAt(j));
          if (node && node.token >= 0 && this.allowed(node.token, i, j + 1 - i, special)) {
            best = node.token;
            bestLen = j + 1 - i;
          }
        }
      }
      if (best >= 0) {
        acceptedPos.push(i);
        acceptedK.push(best);
        i += bestLen;
      } else i++;
    }
  }

  private allowed(k: number, pos: number, len: number, special: boolean | Uint8Array): boolean {
    if (this.always[k]) return true;
    if (typeof special === 'boolean') return special;
    for (let j = pos; j < pos + len; j++) if (!special[j]) return false;
    return true;
  }

  /**
   * Spans of `text` that hold the text of a control or unknown token, merged where they
   * overlap: what must stay plain text when `text` came from a user.
   */
  controlSpans(text: string): [number, number][] {
    const spans: [number, number][] = [];
    for (let i = 0; i < text.length; i++) {
      if (this.first[text.charCodeAt(i)] === 0) continue;
      let node: TrieNode | undefined = this.root;
      for (let j = i; j < text.length && node?.next; j++) {
        node = node.next.get(text.charCodeAt(j));
        if (node && node.token >= 0 && !this.always[node.token]) {
          const last = spans[spans.length - 1];
          if (last && i < last[1]) last[1] = Math.max(last[1], j + 1);
          else spans.push([i, j + 1]);
        }
      }
    }
    return spans;
  }
}
