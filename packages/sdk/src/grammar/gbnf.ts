import { EdgeLMError } from '../errors.js';
import type { Expr } from './ir.js';

/**
 * Parses llama.cpp's GBNF: `name ::= alternatives`, string literals, character classes
 * (`[a-z]`, `[^"]`), `.`, groups, `*` `+` `?` `{m}` `{m,}` `{m,n}`, `#` comments.
 *
 * @example
 * ```ts
 * const rules = parseGbnf('root ::= "yes" | "no"');
 * ```
 */
export function parseGbnf(src: string): Map<string, Expr> {
  return new GbnfParser(src).parse();
}

const NAME = /[a-zA-Z0-9_-]/;

class GbnfParser {
  private i = 0;
  private readonly rules = new Map<string, Expr>();

  constructor(private readonly s: string) {}

  parse(): Map<string, Expr> {
    this.space(true);
    while (this.i < this.s.length) {
      const name = this.name();
      this.space(false);
      if (!this.s.startsWith('::=', this.i)) this.fail('expected ::=');
      this.i += 3;
      this.space(true);
      const body = this.alternatives(false);
      if (this.rules.has(name)) this.fail(`rule "${name}" is defined twice`);
      this.rules.set(name, body);
      this.space(true);
    }
    return this.rules;
  }

  private fail(why: string): never {
    const line = this.s.slice(0, this.i).split('\n').length;
    throw new EdgeLMError('INVALID_ARGUMENT', `GBNF: ${why} (line ${line})`, { offset: this.i });
  }

  /** Skips blanks and comments; newlines only where a rule may continue (inside groups). */
  private space(newlines: boolean): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '#') while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      else if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.i++;
      else break;
    }
  }

  private name(): string {
    const start = this.i;
    while (this.i < this.s.length && NAME.test(this.s[this.i]!)) this.i++;
    if (this.i === start) this.fail('expected a rule name');
    return this.s.slice(start, this.i);
  }

  /** A rule body ends at a newline not followed by a continuation; a group at its `)`. */
  private alternatives(nested: boolean): Expr {
    const options: Expr[] = [this.sequence(nested)];
    while (this.s[this.i] === '|') {
      this.i++;
      this.space(true);
      options.push(this.sequence(nested));
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private sequence(nested: boolean): Expr {
    const items: Expr[] = [];
    for (;;) {
      this.space(nested);
      if (!nested && this.s[this.i] === '\n') {
        // A rule continues on the next line when that line does not start a new rule.
        const save = this.i;
        this.space(true);
        if (this.i >= this.s.length || /^[a-zA-Z0-9_-]+\s*::=/.test(this.s.slice(this.i, this.i + 200))) {
          this.i = save;
          break;
        }
        if (this.s[this.i] === '|') break;
      }
      const c = this.s[this.i];
      if (c === undefined || c === '|' || c === ')' || c === '\n') break;
      items.push(this.postfix(this.primary()));
    }
    return { t: 'seq', items };
  }

  private primary(): Expr {
    const c = this.s[this.i]!;
    if (c === '"') return this.literal();
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.i++;
      return { t: 'chars', ranges: [0x0a, 0x0a], negated: true };
    }
    if (c === '(') {
      this.i++;
      this.space(true);
      const e = this.alternatives(true);
      this.space(true);
      if (this.s[this.i] !== ')') this.fail('expected )');
      this.i++;
      return e;
    }
    if (NAME.test(c)) return { t: 'ref', name: this.name() };
    this.fail(`unexpected "${c}"`);
  }

  private postfix(e: Expr): Expr {
    for (;;) {
      const c = this.s[this.i];
      if (c === '*') e = { t: 'rep', item: e, min: 0, max: Infinity };
      else if (c === '+') e = { t: 'rep', item: e, min: 1, max: Infinity };
      else if (c === '?') e = { t: 'rep', item: e, min: 0, max: 1 };
      else if (c === '{') {
        const m = /^\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}/.exec(this.s.slice(this.i, this.i + 40));
        if (!m) this.fail('bad {m,n}');
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
        if (max < min) this.fail('{m,n} with n < m');
        e = { t: 'rep', item: e, min, max };
        this.i += m[0].length - 1;
      } else return e;
      this.i++;
    }
  }

  private literal(): Expr {
    this.i++;
    const items: Expr[] = [];
    while (this.s[this.i] !== '"') {
      if (this.i >= this.s.length) this.fail('unterminated string');
      const cp = this.char();
      items.push({ t: 'chars', ranges: [cp, cp], negated: false });
    }
    this.i++;
    return { t: 'seq', items };
  }

  private charClass(): Expr {
    this.i++;
    const negated = this.s[this.i] === '^';
    if (negated) this.i++;
    const ranges: number[] = [];
    while (this.s[this.i] !== ']') {
      if (this.i >= this.s.length) this.fail('unterminated character class');
      const lo = this.char();
      let hi = lo;
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']') {
        this.i++;
        hi = this.char();
      }
      ranges.push(lo, hi);
    }
    this.i++;
    return { t: 'chars', ranges, negated };
  }

  /** One literal code point, with GBNF's escapes. */
  private char(): number {
    const c = this.s.codePointAt(this.i)!;
    if (c !== 0x5c) {
      this.i += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.s[this.i + 1];
    this.i += 2;
    const hex = (n: number) => {
      const h = this.s.slice(this.i, this.i + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) this.fail('bad hex escape');
      this.i += n;
      return Number.parseInt(h, 16);
    };
    switch (e) {
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 't':
        return 9;
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'U':
        return hex(8);
      case undefined:
        return this.fail('dangling \\');
      default:
        return e.codePointAt(0)!;
    }
  }
}
