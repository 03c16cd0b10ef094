import { EdgeLMError } from '../errors.js';
import type { Expr } from './ir.js';

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x5f, 0x5f];
const SPACE = [0x20, 0x20, 0x09, 0x0d];

/**
 * Parses the regular-expression subset constrained output needs (what JSON Schema `pattern`s and
 * Chrome's `responseConstraint` RegExps use): literals, `.`, classes with ranges and `\d\w\s`,
 * groups `(…)` `(?:…)`, `|`, `* + ? {m} {m,} {m,n}` (lazy `?` ignored: it changes which match is
 * found, not which strings match). The whole output must match: `^` and `$` are implied.
 *
 * @example
 * ```ts
 * const expr = parseRegex('[A-Z]{3}-\\d{4}');
 * ```
 */
export function parseRegex(src: string): Expr {
  const p = new RegexParser(src.replace(/^\^/, '').replace(/(?<!\\)\$$/, ''));
  const e = p.alternatives();
  if (!p.done) p.fail('unexpected )');
  return e;
}

class RegexParser {
  i = 0;
  constructor(private readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  fail(why: string): never {
    throw new EdgeLMError('INVALID_ARGUMENT', `Regex: ${why} at ${this.i} in /${this.s}/`);
  }

  alternatives(): Expr {
    const options = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private sequence(): Expr {
    const items: Expr[] = [];
    while (!this.done && this.s[this.i] !== '|' && this.s[this.i] !== ')') items.push(this.quantified());
    return { t: 'seq', items };
  }

  private quantified(): Expr {
    let e = this.atom();
    for (;;) {
      const c = this.s[this.i];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
        if (!m) return e; // a literal "{", as in JavaScript
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
        this.i += m[0].length - 1;
      } else return e;
      this.i++;
      if (this.s[this.i] === '?') this.i++;
      e = { t: 'rep', item: e, min, max };
    }
  }

  private atom(): Expr {
    const c = this.s[this.i]!;
    if (c === '(') {
      this.i++;
      if (this.s.startsWith('?:', this.i)) this.i += 2;
      else if (this.s[this.i] === '?') this.fail('lookaround is not supported');
      const e = this.alternatives();
      if (this.s[this.i] !== ')') this.fail('expected )');
      this.i++;
      return e;
    }
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.i++;
      return { t: 'chars', ranges: [0x0a, 0x0a, 0x0d, 0x0d], negated: true };
    }
    if (c === '^' || c === '$') this.fail('anchors inside the pattern are not supported');
    if (c === '\\') {
      const cls = this.classEscape();
      if (cls) return cls;
    }
    const cp = this.literal();
    return { t: 'chars', ranges: [cp, cp], negated: false };
  }

  /** `\d \w \s` and their negations, or null for an escaped literal. */
  private classEscape(): Expr | null {
    const e = this.s[this.i + 1];
    const table: Record<string, number[]> = { d: DIGIT, w: WORD, s: SPACE };
    const lower = e?.toLowerCase() ?? '';
    if (!(lower in table)) return null;
    this.i += 2;
    return { t: 'chars', ranges: [...table[lower]!], negated: e !== lower };
  }

  private literal(): number {
    const c = this.s.codePointAt(this.i)!;
    if (c !== 0x5c) {
      this.i += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.s[this.i + 1];
    this.i += 2;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    if (e === undefined) this.fail('dangling \\');
    if (e in simple) return simple[e]!;
    if (e === 'x' || e === 'u') {
      const n = e === 'x' ? 2 : 4;
      const h = this.s.slice(this.i, this.i + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) this.fail('bad hex escape');
      this.i += n;
      return Number.parseInt(h, 16);
    }
    if (/[1-9]/.test(e)) this.fail('backreferences are not supported');
    if (/[a-zA-Z]/.test(e)) this.fail(`unsupported escape \\${e}`);
    return e.codePointAt(0)!;
  }

  private charClass(): Expr {
    this.i++;
    const negated = this.s[this.i] === '^';
    if (negated) this.i++;
    const ranges: number[] = [];
    let first = true;
    while (this.s[this.i] !== ']' || first) {
      first = false;
      if (this.done) this.fail('unterminated class');
      if (this.s[this.i] === '\\') {
        const cls = this.classEscape();
        if (cls && cls.t === 'chars') {
          if (cls.negated) this.fail('negated class escapes inside [] are not supported');
          ranges.push(...cls.ranges);
          continue;
        }
      }
      const lo = this.literal();
      let hi = lo;
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']' && this.i + 1 < this.s.length) {
        this.i++;
        hi = this.literal();
      }
      ranges.push(lo, hi);
    }
    this.i++;
    return { t: 'chars', ranges, negated };
  }
}

/** Prints an expression in GBNF, so a regex can sit inside a grammar written as text. */
export function exprToGbnf(e: Expr): string {
  switch (e.t) {
    case 'chars': {
      let body = '';
      for (let i = 0; i < e.ranges.length; i += 2) {
        const lo = e.ranges[i]!;
        const hi = e.ranges[i + 1]!;
        body += lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`;
      }
      return `[${e.negated ? '^' : ''}${body}]`;
    }
    case 'ref':
      return e.name;
    case 'seq':
      return e.items.length === 0 ? '""' : `(${e.items.map(exprToGbnf).join(' ')})`;
    case 'alt':
      return `(${e.options.map(exprToGbnf).join(' | ')})`;
    case 'rep':
      return `${exprToGbnf(e.item)}{${e.min},${e.max === Infinity ? '' : e.max}}`;
  }
}

function classChar(cp: number): string {
  if (cp < 0x20 || cp === 0x5d || cp === 0x5c || cp === 0x2d || cp === 0x5e || cp === 0x7f)
    return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp > 0xffff) return `\\U${cp.toString(16).padStart(8, '0')}`;
  return String.fromCodePoint(cp);
}
