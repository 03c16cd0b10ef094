import { EdgeLMError } from '../errors.js';
import { DEAD } from './automaton.js';
import { maskHas, type TokenBitmask, type TokenMasker } from './token-mask.js';

const MAX_FORCED_BYTES = 256;

/**
 * One sequence's position in its grammar: the mask for the next token, the token taken, and the
 * tokens the grammar forces next (jump-forward: they are appended without sampling and computed in
 * one multi-token step).
 */
export class GrammarConstraint {
  private stateId: number;
  private readonly forcedCache: Map<number, Uint8Array>;

  constructor(readonly masker: TokenMasker) {
    this.stateId = masker.automaton.start.id;
    this.forcedCache = forcedCaches.get(masker) ?? new Map();
    forcedCaches.set(masker, this.forcedCache);
  }

  /** True when the output so far is a complete match (an end token is allowed). */
  get complete(): boolean {
    return this.masker.automaton.state(this.stateId).accepting;
  }

  /** True when nothing but an end token may follow. */
  get finished(): boolean {
    const s = this.masker.automaton.state(this.stateId);
    return s.accepting && s.stacks.length === 1;
  }

  /** Tokens allowed next, given how many tokens may still be generated. */
  mask(tokensLeft = Infinity): TokenBitmask {
    const m = this.masker.mask(this.stateId, tokensLeft);
    return m;
  }

  /** Advances past `token`; throws when the grammar does not allow it. */
  accept(token: number): void {
    const trie = this.masker.trie;
    if (trie.endTokens.includes(token)) {
      if (!this.complete) throw rejected(token);
      return;
    }
    const next = this.walkToken(token);
    if (next === DEAD) throw rejected(token);
    this.stateId = next;
  }

  /** Whether `token` may come next (without advancing). */
  allows(token: number): boolean {
    return maskHas(this.mask(), token);
  }

  /**
   * The tokens every continuation starts with, longest vocabulary match first; empty when the
   * next byte is a real choice. Does not advance: `accept` each token taken.
   */
  forcedTokens(): number[] {
    const bytes = this.forcedBytes();
    const trie = this.masker.trie;
    const out: number[] = [];
    let i = 0;
    while (i < bytes.length) {
      let node = 0;
      let best = -1;
      let bestLen = 0;
      for (let j = i; j < bytes.length; j++) {
        node = trie.child(node, bytes[j]!);
        if (node < 0) break;
        if (trie.tokenEnd[node]! > trie.tokenStart[node]!) {
          best = trie.tokenIds[trie.tokenStart[node]!]!;
          bestLen = j - i + 1;
        }
      }
      if (best < 0) break;
      out.push(best);
      i += bestLen;
    }
    return out;
  }

  private forcedBytes(): Uint8Array {
    const cached = this.forcedCache.get(this.stateId);
    if (cached) return cached;
    const a = this.masker.automaton;
    const out: number[] = [];
    let st = this.stateId;
    while (out.length < MAX_FORCED_BYTES && !a.state(st).accepting) {
      let only = -1;
      let onlyNext = DEAD;
      for (let b = 0; b < 256; b++) {
        const ns = a.step(st, b);
        if (ns === DEAD) continue;
        if (only >= 0) {
          only = -2;
          break;
        }
        only = b;
        onlyNext = ns;
      }
      if (only < 0) break;
      out.push(only);
      st = onlyNext;
    }
    const bytes = Uint8Array.from(out);
    this.forcedCache.set(this.stateId, bytes);
    return bytes;
  }

  private walkToken(token: number): number {
    const a = this.masker.automaton;
    const bytes = this.tokenBytes(token);
    if (!bytes) return DEAD;
    let st = this.stateId;
    for (let i = 0; i < bytes.length && st !== DEAD; i++) st = a.step(st, bytes[i]!);
    return st;
  }

  private tokenBytes(token: number): Uint8Array | null {
    return this.masker.trie.bytes(token);
  }
}

/** Forced-byte runs per masker, shared by every sequence on the same grammar. */
const forcedCaches = new WeakMap<TokenMasker, Map<number, Uint8Array>>();

function rejected(token: number): EdgeLMError {
  return new EdgeLMError('INVALID_ARGUMENT', `Token ${token} is not allowed by the grammar here`, { token });
}
