import { DEAD, type GrammarAutomaton } from './automaton.js';
import type { VocabTrie } from './vocab-trie.js';

/** A vocabulary bitset: bit `id & 31` of word `id >> 5` is set when token `id` is allowed. */
export type TokenBitmask = Uint32Array;

interface FullMask {
  mask: TokenBitmask;
  /** The largest completion cost (bytes) among the states the allowed tokens lead to. */
  maxNextBytes: number;
  count: number;
}

const MAX_BUDGET_MASKS = 256;

/**
 * Token masks of one grammar over one vocabulary. A mask is a depth-first walk of the vocabulary
 * trie through the byte automaton, cached per automaton state: generations revisit the same
 * states (inside a string, between fields), so most tokens cost a cache lookup.
 *
 * Near the end of the token budget the mask narrows to tokens after which the grammar can still
 * be completed in the tokens left (a byte per token at worst), so a capped generation still parses.
 */
export class TokenMasker {
  private readonly full = new Map<number, FullMask>();
  private readonly budget = new Map<string, TokenBitmask>();
  private readonly nodeStack: Int32Array;
  private readonly stateStack: Int32Array;
  readonly words: number;
  /** Walks done (cache misses), for the benchmark. */
  walks = 0;
  lookups = 0;

  constructor(
    readonly automaton: GrammarAutomaton,
    readonly trie: VocabTrie,
  ) {
    this.words = (trie.vocabSize + 31) >>> 5;
    this.nodeStack = new Int32Array(trie.nodeCount + 1);
    this.stateStack = new Int32Array(trie.nodeCount + 1);
  }

  /**
   * Tokens allowed in `state` when `tokensLeft` tokens may still be generated (Infinity: no cap).
   * The returned mask is shared: do not modify it.
   */
  mask(state: number, tokensLeft = Infinity): TokenBitmask {
    this.lookups++;
    let f = this.full.get(state);
    if (!f) {
      f = this.walk(state, Infinity);
      this.full.set(state, f);
    }
    const limit = tokensLeft - 1;
    if (f.maxNextBytes <= limit) return f.mask;
    const key = `${state}:${limit}`;
    let m = this.budget.get(key);
    if (!m) {
      const narrowed = this.walk(state, limit);
      // A vocabulary without single-byte tokens may have no short path; then the cap cannot help.
      m = narrowed.count > 0 ? narrowed.mask : f.mask;
      if (this.budget.size >= MAX_BUDGET_MASKS) this.budget.clear();
      this.budget.set(key, m);
    }
    return m;
  }

  private walk(state: number, limit: number): FullMask {
    this.walks++;
    const a = this.automaton;
    const t = this.trie;
    const mask = new Uint32Array(this.words);
    let count = 0;
    let maxNextBytes = 0;
    const s0 = a.state(state);
    if (s0.accepting)
      for (const id of t.endTokens) {
        mask[id >>> 5]! |= 1 << (id & 31);
        count++;
      }
    const nodes = this.nodeStack;
    const states = this.stateStack;
    let top = 0;
    nodes[0] = 0;
    states[0] = state;
    const { byte, firstChild, childCount, tokenStart, tokenEnd, tokenIds } = t;
    while (top >= 0) {
      const node = nodes[top]!;
      const st = states[top]!;
      top--;
      const c0 = firstChild[node]!;
      const c1 = c0 + childCount[node]!;
      for (let c = c0; c < c1; c++) {
        const ns = a.step(st, byte[c]!);
        if (ns === DEAD) continue;
        const ts = tokenStart[c]!;
        const te = tokenEnd[c]!;
        if (ts < te) {
          const need = a.state(ns).minBytes;
          if (need <= limit) {
            if (need > maxNextBytes) maxNextBytes = need;
            for (let k = ts; k < te; k++) {
              const id = tokenIds[k]!;
              mask[id >>> 5]! |= 1 << (id & 31);
              count++;
            }
          }
        }
        if (childCount[c]! > 0) {
          top++;
          nodes[top] = c;
          states[top] = ns;
        }
      }
    }
    return { mask, maxNextBytes, count };
  }
}

/** Sets every disallowed logit to -Infinity; whole words of allowed tokens are skipped. */
export function applyTokenMask(logits: Float32Array, mask: TokenBitmask): void {
  const n = logits.length;
  for (let w = 0; w < mask.length; w++) {
    const bits = mask[w]!;
    if (bits === 0xffffffff) continue;
    const base = w << 5;
    const end = Math.min(32, n - base);
    for (let b = 0; b < end; b++) if ((bits & (1 << b)) === 0) logits[base + b] = Number.NEGATIVE_INFINITY;
  }
  // Padded output rows past the vocabulary are never text.
  for (let i = mask.length << 5; i < n; i++) logits[i] = Number.NEGATIVE_INFINITY;
}

/** Whether `id` is allowed by `mask`. */
export function maskHas(mask: TokenBitmask, id: number): boolean {
  return (mask[id >>> 5]! & (1 << (id & 31))) !== 0;
}
