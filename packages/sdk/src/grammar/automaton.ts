import { EdgeLMError } from '../errors.js';
import { type CompiledGrammar, Elem } from './ir.js';

/** A byte transition's value when the byte leads nowhere. */
export const DEAD = -2;
const UNKNOWN = -1;
/** Most distinct states (each ~1 KiB plus its cached mask); free-form JSON nested thousands deep hits it. */
const MAX_STATES = 50_000;
const MAX_EXPAND_DEPTH = 2_000;
/** Smallest code point of a character with this many continuation bytes. */
const MIN_OF_LENGTH = [0, 0x80, 0x800, 0x10000];
/** Partial bits of a character every live class accepts whatever it turns out to be. */
const ANY = -1;

/** One configuration of the grammar: the live parse stacks, plus a half-read UTF-8 character. */
export interface GrammarState {
  readonly id: number;
  /** Interned stack ids; 0 is the empty stack (the grammar is complete). */
  readonly stacks: Int32Array;
  /** Continuation bytes still expected, and the code point bits read so far. */
  readonly pending: number;
  readonly partial: number;
  readonly accepting: boolean;
  /** Fewest bytes that complete the grammar from here. */
  readonly minBytes: number;
  /** Next state per byte, filled lazily: UNKNOWN, DEAD or a state id. */
  readonly next: Int32Array;
}

/**
 * The grammar as a lazily built byte automaton. llama.cpp advances a set of parse stacks per code
 * point; here every distinct (stack set, partial UTF-8) is interned once as a state and its byte
 * transitions are memoised, so after warm-up a token costs one table lookup per byte. That is
 * what keeps vocabulary masks cheap: the trie walk over 150k tokens becomes array reads.
 */
export class GrammarAutomaton {
  private readonly stackPos: number[] = [-1];
  private readonly stackParent: number[] = [-1];
  private readonly stackIds = new Map<number, number>();
  private readonly expanded = new Map<number, Int32Array>();
  private readonly stackMin: number[] = [0];
  private readonly states: GrammarState[] = [];
  private readonly stateIds = new Map<string, number>();
  private readonly startId: number;

  constructor(readonly grammar: CompiledGrammar) {
    const stacks: number[] = [];
    for (const a of grammar.alts[grammar.root]!)
      if (grammar.kind[a] === Elem.End) stacks.push(0);
      else this.expandInto(this.push(0, a), stacks, 0);
    this.startId = this.intern(stacks, 0, 0);
  }

  /** The state before any output. */
  get start(): GrammarState {
    return this.states[this.startId]!;
  }

  state(id: number): GrammarState {
    return this.states[id]!;
  }

  get stateCount(): number {
    return this.states.length;
  }

  /** Follows one byte; DEAD when no parse survives it. */
  step(from: number, byte: number): number {
    const s = this.states[from]!;
    const cached = s.next[byte]!;
    if (cached !== UNKNOWN) return cached;
    if (this.states.length >= MAX_STATES)
      throw new EdgeLMError('LIMIT_EXCEEDED', `The grammar needed more than ${MAX_STATES} states`);
    const to = this.computeStep(s, byte);
    s.next[byte] = to;
    return to;
  }

  private computeStep(s: GrammarState, b: number): number {
    if (s.pending === 0) {
      if (b < 0x80) return this.consume(s.stacks, b);
      let need: number;
      let bits: number;
      if (b >= 0xc2 && b <= 0xdf) [need, bits] = [1, b & 0x1f];
      else if (b >= 0xe0 && b <= 0xef) [need, bits] = [2, b & 0x0f];
      else if (b >= 0xf0 && b <= 0xf4) [need, bits] = [3, b & 0x07];
      else return DEAD;
      return this.partialState(s.stacks, need, bits, MIN_OF_LENGTH[need]!);
    }
    if ((b & 0xc0) !== 0x80) return DEAD;
    if (s.partial === ANY)
      return s.pending === 1
        ? this.consume(s.stacks, ANY)
        : this.partialState(s.stacks, s.pending - 1, ANY, 0);
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (s.pending === 2 && ((s.partial === 0 && b < 0xa0) || (s.partial === 0x0d && b >= 0xa0))) return DEAD;
    if (s.pending === 3 && ((s.partial === 0 && b < 0x90) || (s.partial === 4 && b >= 0x90))) return DEAD;
    const bits = (s.partial << 6) | (b & 0x3f);
    if (s.pending === 1) return this.consume(s.stacks, bits);
    return this.partialState(s.stacks, s.pending - 1, bits, 0);
  }

  /**
   * Keeps the stacks whose next class can still match some completion of the partial character.
   * When every kept class takes every completion, the bits read so far no longer matter: they
   * are dropped from the state (ANY), so a string's thousands of CJK prefixes share one state.
   */
  private partialState(stacks: Int32Array, need: number, bits: number, minCp: number): number {
    const lo = Math.max(minCp, bits === ANY ? 0 : bits << (6 * need));
    const hi = bits === ANY ? 0x10ffff : (bits << (6 * need)) + (1 << (6 * need)) - 1;
    const keep: number[] = [];
    let all = true;
    for (const st of stacks) {
      if (st === 0) continue;
      const pos = this.stackPos[st]!;
      if (bits === ANY || this.classCovers(pos, lo, hi)) keep.push(st);
      else if (this.classMeets(pos, lo, hi)) {
        keep.push(st);
        all = false;
      }
    }
    if (keep.length === 0) return DEAD;
    // The lead bytes E0, ED, F0, F4 restrict the next byte; keep their bits until it is read.
    const special =
      (need === 2 && (bits === 0 || bits === 0x0d)) || (need === 3 && (bits === 0 || bits === 4));
    return this.intern(keep, need, all && !special ? ANY : bits);
  }

  private consume(stacks: Int32Array, cp: number): number {
    const out: number[] = [];
    for (const st of stacks) {
      if (st === 0) continue;
      const pos = this.stackPos[st]!;
      if (cp !== ANY && !this.classHas(pos, cp)) continue;
      this.advance(this.stackParent[st]!, pos + 1, out);
    }
    return out.length === 0 ? DEAD : this.intern(out, 0, 0);
  }

  /** Continues at `pos` on top of `parent`, skipping a finished alternative. */
  private advance(parent: number, pos: number, out: number[]): void {
    if (this.grammar.kind[pos] === Elem.End) this.expandInto(parent, out, 0);
    else this.expandInto(this.push(parent, pos), out, 0);
  }

  /** Expands a stack until its top is a character class (or it is empty). */
  private expandInto(stack: number, out: number[], depth: number): void {
    const done = this.expanded.get(stack);
    if (done) {
      for (const s of done) out.push(s);
      return;
    }
    if (depth > MAX_EXPAND_DEPTH)
      throw new EdgeLMError('INVALID_ARGUMENT', 'The grammar is left-recursive (or nests too deeply)');
    const g = this.grammar;
    const mine: number[] = [];
    if (stack === 0 || g.kind[this.stackPos[stack]!] === Elem.Chars) mine.push(stack);
    else {
      const pos = this.stackPos[stack]!;
      const parent = this.stackParent[stack]!;
      // Tail call: nothing left after the reference, so it does not stay on the stack.
      const below = g.kind[pos + 1] === Elem.End ? parent : this.push(parent, pos + 1);
      for (const a of g.alts[g.ref[pos]!]!) {
        if (g.kind[a] === Elem.End) this.expandInto(below, mine, depth + 1);
        else this.expandInto(this.push(below, a), mine, depth + 1);
      }
    }
    const uniq = Int32Array.from(new Set(mine));
    this.expanded.set(stack, uniq);
    for (const s of uniq) out.push(s);
  }

  private push(parent: number, pos: number): number {
    const key = parent * this.grammar.kind.length + pos;
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stackPos.length;
      this.stackPos.push(pos);
      this.stackParent.push(parent);
      this.stackMin.push(this.grammar.minRest[pos]! + this.stackMin[parent]!);
      this.stackIds.set(key, id);
    }
    return id;
  }

  private intern(stacks: number[], pending: number, partial: number): number {
    const sorted = Int32Array.from(new Set(stacks)).sort();
    const key = `${sorted.join(',')}|${pending}|${partial}`;
    const known = this.stateIds.get(key);
    if (known !== undefined) return known;
    let minBytes = Infinity;
    for (const st of sorted) {
      // Inside a character, the class on top is already partly read.
      const m =
        pending === 0
          ? this.stackMin[st]!
          : this.stackMin[st]! - this.grammar.charBytes[this.stackPos[st]!]! + pending;
      if (m < minBytes) minBytes = m;
    }
    const id = this.states.length;
    this.states.push({
      id,
      stacks: sorted,
      pending,
      partial,
      accepting: pending === 0 && sorted[0] === 0,
      minBytes,
      next: new Int32Array(256).fill(UNKNOWN),
    });
    this.stateIds.set(key, id);
    return id;
  }

  private classHas(pos: number, cp: number): boolean {
    const r = this.grammar.ranges[pos]!;
    let hit = false;
    for (let i = 0; i < r.length; i += 2)
      if (cp >= r[i]! && cp <= r[i + 1]!) {
        hit = true;
        break;
      }
    return hit !== (this.grammar.negated[pos] === 1);
  }

  /** Whether the class at `pos` matches every code point in [lo, hi]. */
  private classCovers(pos: number, lo: number, hi: number): boolean {
    const r = this.grammar.ranges[pos]!;
    if (this.grammar.negated[pos] === 1) {
      for (let i = 0; i < r.length; i += 2) if (r[i]! <= hi && r[i + 1]! >= lo) return false;
      return true;
    }
    for (let i = 0; i < r.length; i += 2) if (r[i]! <= lo && r[i + 1]! >= hi) return true;
    return false;
  }

  /** Whether the class at `pos` matches some code point in [lo, hi]. */
  private classMeets(pos: number, lo: number, hi: number): boolean {
    const r = this.grammar.ranges[pos]!;
    if (this.grammar.negated[pos] === 1) {
      for (let i = 0; i < r.length; i += 2) if (r[i]! <= lo && r[i + 1]! >= hi) return false;
      return true;
    }
    for (let i = 0; i < r.length; i += 2) if (r[i]! <= hi && r[i + 1]! >= lo) return true;
    return false;
  }
}
