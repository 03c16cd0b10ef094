import { describe, expect, it } from 'vitest';
import { isEdgeLMError } from '../src/errors.js';
import { DEAD, GrammarAutomaton } from '../src/grammar/automaton.js';
import { parseGbnf } from '../src/grammar/gbnf.js';
import { compileSpec, type GrammarSpec } from '../src/grammar/grammar-spec.js';
import { compileRules } from '../src/grammar/ir.js';

/** Whether the grammar matches all of `text` (byte by byte through the automaton). */
function matcher(spec: GrammarSpec): (text: string | Uint8Array) => boolean {
  const a = new GrammarAutomaton(compileSpec(spec));
  return (text) => {
    let st = a.start.id;
    for (const b of typeof text === 'string' ? new TextEncoder().encode(text) : text) {
      st = a.step(st, b);
      if (st === DEAD) return false;
    }
    return a.state(st).accepting;
  };
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isEdgeLMError(e) ? e.code : 'untyped';
  }
  return undefined;
}

describe('GBNF', () => {
  it('parses literals, classes, groups, repetition and comments', () => {
    const m = matcher({
      type: 'gbnf',
      grammar: '# list\nroot ::= "[" item ("," item){0,2} "]"\nitem ::= [a-c]+ | "\\"" [^"]* "\\""\n',
    });
    for (const ok of ['[a]', '[abc,b]', '[a,"x y",c]', '[""]']) expect(m(ok)).toBe(true);
    for (const bad of ['[]', '[a,b,c,a]', '[d]', 'a', '[a']) expect(m(bad)).toBe(false);
  });

  it('matches multi-byte characters and refuses malformed UTF-8', () => {
    const m = matcher({ type: 'gbnf', grammar: 'root ::= "é" [α-ω]+' });
    expect(m('éλμ')).toBe(true);
    expect(m('éa')).toBe(false);
    expect(m(Uint8Array.of(0xc3, 0xa9, 0xc0, 0x80))).toBe(false); // overlong NUL
    const any = matcher({ type: 'gbnf', grammar: 'root ::= [^a]*' });
    expect(any('日本語😀')).toBe(true);
    expect(any(Uint8Array.of(0xed, 0xa0, 0x80))).toBe(false); // a UTF-16 surrogate
  });

  it('fails typed on bad grammars', () => {
    expect(code(() => parseGbnf('root ::= "a'))).toBe('INVALID_ARGUMENT');
    expect(code(() => compileRules(parseGbnf('root ::= missing'), 'root'))).toBe('INVALID_ARGUMENT');
    expect(code(() => compileRules(parseGbnf('x ::= "a"'), 'root'))).toBe('INVALID_ARGUMENT');
    expect(code(() => matcher({ type: 'gbnf', grammar: 'root ::= root "a" | "b"' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => parseGbnf('root ::= "a"{3,1}'))).toBe('INVALID_ARGUMENT');
  });
});

describe('regular expressions', () => {
  it.each([
    ['[A-Z]{2}\\d{2,3}', ['AB12', 'XY123'], ['AB1', 'ab12', 'AB1234']],
    ['(cat|dog)s?', ['cat', 'dogs'], ['cow', 'cats!']],
    ['a.c', ['abc', 'a-c'], ['a\nc', 'ac']],
    ['[^0-9\\s]+', ['abc', 'é'], ['a1', 'a b', '']],
    ['(?:ab)*\\.', ['.', 'abab.'], ['aba.', 'ab']],
  ] as const)('/%s/ agrees with RegExp', (pattern, yes, no) => {
    const m = matcher({ type: 'regex', pattern });
    const re = new RegExp(`^(?:${pattern})$`, 'u');
    for (const s of [...yes, ...no]) expect(m(s)).toBe(re.test(s));
  });

  it('refuses what it cannot honour', () => {
    expect(code(() => compileSpec({ type: 'regex', pattern: '(?=a)b' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => compileSpec({ type: 'regex', pattern: 'a\\1' }))).toBe('INVALID_ARGUMENT');
  });
});

describe('JSON Schema grammars', () => {
  it('integer ranges accept exactly the integers inside', () => {
    for (const [lo, hi] of [
      [0, 9],
      [5, 120],
      [-40, 125],
      [-300, -7],
      [99, 1001],
      [7, undefined],
      [undefined, 42],
    ] as const) {
      const m = matcher({ type: 'json_schema', schema: { type: 'integer', minimum: lo, maximum: hi } });
      for (let n = (lo ?? -60) - 15; n <= (hi ?? 150) + 15; n++)
        expect(m(String(n)), `${n} in [${lo}, ${hi}]`).toBe(
          (lo === undefined || n >= lo) && (hi === undefined || n <= hi),
        );
      expect(m('007')).toBe(false);
    }
  });

  it('objects: required members, optional ones, no others', () => {
    const m = matcher({
      type: 'json_schema',
      schema: {
        type: 'object',
        properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' } },
        required: ['b'],
      },
    });
    for (const ok of [
      '{"b":"x"}',
      '{ "b" : "x" , "a" : 1 }',
      '{"b":"","a":-2,"c":true}',
      '{"b":"","c":false}',
    ])
      expect(m(ok), ok).toBe(true);
    for (const bad of ['{}', '{"a":1}', '{"b":"x","d":1}', '{"b":1}', '{"b":"x",}'])
      expect(m(bad), bad).toBe(false);
  });

  it('refuses schemas it cannot honour, with a typed error', () => {
    expect(code(() => compileSpec({ type: 'json_schema', schema: { $ref: 'https://x/y' } }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => compileSpec({ type: 'json_schema', schema: { enum: [] } }))).toBe('INVALID_ARGUMENT');
    expect(
      code(() => compileSpec({ type: 'json_schema', schema: { type: 'integer', minimum: 5, maximum: 1 } })),
    ).toBe('INVALID_ARGUMENT');
  });
});
