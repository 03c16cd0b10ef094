import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { GrammarAutomaton } from './automaton.js';
import { GrammarConstraint } from './constraint.js';
import { compileSpec, type GrammarSpec } from './grammar-spec.js';
import { TokenMasker } from './token-mask.js';
import { VocabTrie } from './vocab-trie.js';

const DEFAULT_CAPACITY = 16;

/**
 * Compiled grammars of one engine, keyed by their spec, so repeated requests with the same schema
 * share the automaton and its cached masks (a schema's second request costs no walks at all).
 */
export class GrammarRegistry {
  private trieCache: VocabTrie | null = null;
  private readonly maskers = new Map<string, TokenMasker>();

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /** The vocabulary trie, built on first use (about 100 ms for a 150k vocabulary). */
  get trie(): VocabTrie {
    this.trieCache ??= VocabTrie.fromTokenizer(this.tokenizer);
    return this.trieCache;
  }

  masker(spec: GrammarSpec): TokenMasker {
    const key = JSON.stringify(spec);
    let m = this.maskers.get(key);
    if (m) {
      this.maskers.delete(key); // re-insert: most recently used last
    } else {
      m = new TokenMasker(new GrammarAutomaton(compileSpec(spec)), this.trie);
      if (this.maskers.size >= this.capacity) this.maskers.delete(this.maskers.keys().next().value!);
    }
    this.maskers.set(key, m);
    return m;
  }

  /** A fresh per-sequence constraint for `spec`. */
  constraint(spec: GrammarSpec): GrammarConstraint {
    return new GrammarConstraint(this.masker(spec));
  }
}
