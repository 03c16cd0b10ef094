import { DEAD, type GrammarAutomaton } from './automaton.js';
import type { VocabTrie } from './vocab-trie.js';

/** A vocabulary bitset: bit `id & 31` of word `id >> 5` is set when token `id` is allowed. */
export type TokenBitmask = Uint32Array;

interface StateMasks {
  mask: TokenBitmask;
  /** The allowed tokens after which the grammar is strictly closer to complete (in bytes). */
  progress: TokenBitmask;
  progressCount: number;
  /** The largest completion cost (bytes) among the states the allowed tokens lead to. */
  maxNextBytes: number;
}

/** Masks kept (two vocabulary bitsets each: 38 KiB for a 151k vocabulary). */
const MAX_CACHED_STATES = 1024;

/**
 * Token masks of one grammar over one vocabulary. A mask is a depth-first walk of the vocabulary
 * trie through the byte automaton, cached per automaton state: generations revisit the same
 * states (inside a string, between fields), so most tokens cost a cache lookup.
 *
 * Near the end of the token budget (when some allowed token could leave more to write than tokens
 * remain, a byte per token at worst) the mask narrows to tokens that bring the grammar strictly
 * closer to complete, so a capped generation still closes its brackets and parses.
 */
export class TokenMasker {
  private readonly cache = new Map<number, StateMasks>();
  private readonly stateAt: Int32Array;
  readonly words: number;
  /** Walks done (cache misses), for the benchmark. */
  walks = 0;
  lookups = 0;

  constructor(
    readonly automaton: GrammarAutomaton,
    readonly trie: VocabTrie,
  ) {
    this.words = (trie.vocabSize + 31) >>> 5;
    this.stateAt = new Int32Array(trie.maxDepth + 1);
  }

  /**
   * Tokens allowed in `state` when `tokensLeft` tokens may still be generated (Infinity: no cap).
   * The returned mask is shared: do not modify it.
   */
  mask(state: number, tokensLeft = Infinity): TokenBitmask {
    this.lookups++;
    let m = this.cache.get(state);
    if (!m) {
      m = this.walk(state);
      if (this.cache.size >= MAX_CACHED_STATES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(state, m);
    }
    if (m.maxNextBytes <= tokensLeft - 1) return m.mask;
    // A vocabulary without single-byte tokens may have no closer step; then the cap cannot help.
    return m.progressCount > 0 ? m.progress : m.mask;
  }

  private walk(state: number): StateMasks {
    this.walks++;
    const a = this.automaton;
    const t = this.trie;
    const mask = new Uint32Array(this.words);
    const progress = new Uint32Array(this.words);
    let progressCount = 0;
    let maxNextBytes = 0;
    const s0 = a.state(state);
    const closer = s0.minBytes - 1;
    if (s0.accepting)
      for (const id of t.endTokens) {
        mask[id >>> 5]! |= 1 << (id & 31);
        progress[id >>> 5]! |= 1 << (id & 31);
        progressCount++;
      }
    // Preorder sweep: a node's state is its parent's (one depth up) stepped by its byte.
    const stateAt = this.stateAt;
    stateAt[0] = state;
    const { byte, depth, end, tokenStart, tokenEnd, tokenIds } = t;
    const n = t.nodeCount;
    for (let i = 1; i < n; ) {
      const d = depth[i]!;
      const ns = a.step(stateAt[d - 1]!, byte[i]!);
      if (ns === DEAD) {
        i = end[i]!;
        continue;
      }
      stateAt[d] = ns;
      const ts = tokenStart[i]!;
      const te = tokenEnd[i]!;
      if (ts < te) {
        const need = a.state(ns).minBytes;
        if (need > maxNextBytes) maxNextBytes = need;
        for (let k = ts; k < te; k++) {
          const id = tokenIds[k]!;
          mask[id >>> 5]! |= 1 << (id & 31);
          if (need <= closer) {
            progress[id >>> 5]! |= 1 << (id & 31);
            progressCount++;
          }
        }
      }
      i++;
    }
    return { mask, progress, progressCount, maxNextBytes };
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
