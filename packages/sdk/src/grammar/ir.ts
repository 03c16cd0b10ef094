import { EdgeLMError } from '../errors.js';

/**
 * A grammar as the matcher walks it, laid out like llama.cpp's `llama_grammar`: one flat array of
 * elements, each alternative of each rule a run of elements closed by an END. A position is an
 * index into that array, so a parse stack is a list of small integers.
 */
export enum Elem {
  /** A character class: `ranges[i]` holds [lo, hi] code point pairs. */
  Chars = 0,
  /** A reference to rule `ref[i]`. */
  Ref = 1,
  /** The end of an alternative. */
  End = 2,
}

/** A parsed grammar before flattening: rules of alternatives of sequences. */
export type Expr =
  | { t: 'chars'; ranges: number[]; negated: boolean }
  | { t: 'ref'; name: string }
  | { t: 'seq'; items: Expr[] }
  | { t: 'alt'; options: Expr[] }
  | { t: 'rep'; item: Expr; min: number; max: number };

export interface CompiledGrammar {
  kind: Uint8Array;
  /** For Chars: the class; for others: unused. */
  ranges: (Int32Array | null)[];
  negated: Uint8Array;
  /** For Ref: the rule id. */
  ref: Int32Array;
  /** Start positions of each rule's alternatives. */
  alts: Int32Array[];
  root: number;
  /** Fewest UTF-8 bytes that complete the alternative from each position to its END. */
  minRest: Float64Array;
  /** Fewest UTF-8 bytes one code point of each Chars element takes. */
  charBytes: Uint8Array;
  ruleNames: string[];
}

const MAX_REPEAT = 10_000;

/** Flattens named rules into a {@link CompiledGrammar}; groups and repetitions become anonymous rules. */
export function compileRules(rules: Map<string, Expr>, root: string): CompiledGrammar {
  if (!rules.has(root)) throw new EdgeLMError('INVALID_ARGUMENT', `The grammar has no rule "${root}"`);
  const names: string[] = [];
  const ids = new Map<string, number>();
  const bodies: Expr[][] = []; // alternatives (each a sequence) per rule id
  const idOf = (name: string): number => {
    let id = ids.get(name);
    if (id === undefined) {
      if (!rules.has(name))
        throw new EdgeLMError('INVALID_ARGUMENT', `The grammar uses undefined rule "${name}"`);
      id = names.length;
      ids.set(name, id);
      names.push(name);
      bodies.push([]);
      bodies[id] = alternatives(rules.get(name)!);
    }
    return id;
  };
  const anon = (alts: Expr[][], hint: string): number => {
    const id = names.length;
    names.push(`${hint}-${id}`);
    bodies.push(alts.map((items) => ({ t: 'seq', items })));
    return id;
  };

  const kind: number[] = [];
  const ranges: (Int32Array | null)[] = [];
  const negated: number[] = [];
  const ref: number[] = [];
  const alts: Int32Array[] = [];
  const emit = (k: Elem, r: Int32Array | null, neg: boolean, rule: number) => {
    kind.push(k);
    ranges.push(r);
    negated.push(neg ? 1 : 0);
    ref.push(rule);
  };

  // Each item of a sequence becomes one element; anything but a class or a reference a new rule.
  const item = (e: Expr): void => {
    if (e.t === 'chars') emit(Elem.Chars, Int32Array.from(e.ranges), e.negated, -1);
    else if (e.t === 'ref') emit(Elem.Ref, null, false, idOf(e.name));
    else if (e.t === 'seq' && e.items.length === 1) item(e.items[0]!);
    else if (e.t === 'seq') emit(Elem.Ref, null, false, anon([e.items], 'seq'));
    else if (e.t === 'alt') emit(Elem.Ref, null, false, anon(e.options.map(seqItems), 'alt'));
    else emit(Elem.Ref, null, false, repetition(e.item, e.min, e.max));
  };
  // X{min,max}: min copies, then a chain of optionals (or a tail-recursive star when unbounded).
  const repetition = (x: Expr, min: number, max: number): number => {
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
      throw new EdgeLMError('LIMIT_EXCEEDED', `A grammar repetition exceeds ${MAX_REPEAT}`);
    let tail: Expr[];
    if (max === Infinity) {
      const star = names.length;
      anon([], 'star');
      bodies[star] = [
        { t: 'seq', items: [x, { t: 'ref', name: `\0${star}` }] },
        { t: 'seq', items: [] },
      ];
      tail = [{ t: 'ref', name: `\0${star}` }];
    } else {
      tail = [];
      for (let i = 0; i < max - min; i++) {
        const opt = anon([[x, ...tail], []], 'opt');
        tail = [{ t: 'ref', name: `\0${opt}` }];
      }
    }
    const items: Expr[] = [];
    for (let i = 0; i < min; i++) items.push(x);
    return anon([[...items, ...tail]], 'rep');
  };

  const rootId = idOf(root);
  for (let id = 0; id < bodies.length; id++) {
    const starts: number[] = [];
    for (const alt of bodies[id]!) {
      starts.push(kind.length);
      for (const e of seqItems(alt)) {
        if (e.t === 'ref' && e.name.startsWith('\0')) emit(Elem.Ref, null, false, Number(e.name.slice(1)));
        else item(e);
      }
      emit(Elem.End, null, false, -1);
    }
    alts[id] = Int32Array.from(starts);
  }
  const g: CompiledGrammar = {
    kind: Uint8Array.from(kind),
    ranges,
    negated: Uint8Array.from(negated),
    ref: Int32Array.from(ref),
    alts,
    root: rootId,
    minRest: new Float64Array(kind.length),
    charBytes: new Uint8Array(kind.length),
    ruleNames: names,
  };
  computeMinLengths(g);
  return g;
}

function alternatives(e: Expr): Expr[] {
  return e.t === 'alt' ? e.options : [e];
}

function seqItems(e: Expr): Expr[] {
  return e.t === 'seq' ? e.items : [e];
}

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Smallest code point a class matches, or -1 when it matches none. */
export function smallestMatch(ranges: Int32Array, negated: boolean): number {
  if (!negated) {
    let best = -1;
    for (let i = 0; i < ranges.length; i += 2) if (best < 0 || ranges[i]! < best) best = ranges[i]!;
    return best;
  }
  let cp = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < ranges.length; i += 2)
      if (cp >= ranges[i]! && cp <= ranges[i + 1]!) {
        cp = ranges[i + 1]! + 1;
        changed = true;
      }
  }
  return cp > 0x10ffff ? -1 : cp;
}

/** Fixpoint over the rules: the fewest bytes each rule, and each alternative suffix, can match. */
function computeMinLengths(g: CompiledGrammar): void {
  const n = g.kind.length;
  for (let p = 0; p < n; p++) {
    if (g.kind[p] !== Elem.Chars) continue;
    const cp = smallestMatch(g.ranges[p]!, g.negated[p] === 1);
    g.charBytes[p] = cp < 0 ? 255 : utf8Len(cp);
  }
  const ruleMin = new Float64Array(g.alts.length).fill(Infinity);
  for (let changed = true; changed; ) {
    changed = false;
    for (let p = n - 1; p >= 0; p--) {
      const k = g.kind[p];
      const own = k === Elem.End ? 0 : k === Elem.Chars ? g.charBytes[p]! : ruleMin[g.ref[p]!]!;
      g.minRest[p] = k === Elem.End ? 0 : own + g.minRest[p + 1]!;
    }
    for (let r = 0; r < g.alts.length; r++) {
      let best = Infinity;
      for (const a of g.alts[r]!) best = Math.min(best, g.minRest[a]!);
      if (best < ruleMin[r]!) {
        ruleMin[r] = best;
        changed = true;
      }
    }
  }
}
