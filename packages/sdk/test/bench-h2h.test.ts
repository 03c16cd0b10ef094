// The pure parts of the head-to-head benchmark (bench/h2h): the output check against the
// reference, the ranked table and ratios, and the tokenizer.json it writes for transformers.js.
import { describe, expect, it } from 'vitest';
import { hfTokenizerJson } from '../bench/h2h/hf-folder.js';
import { checkOutput, figuresFor, h2hTable, type RowOutcome } from '../bench/h2h/verdict.js';
import type { TokenizerData } from '../src/tokenizer/tokenizer-data.js';

const ref = { tokens: [5, 6, 7, 8], text: ' a b c d' };

describe('checkOutput', () => {
  it('passes the same tokens and fails on the first differing one', () => {
    expect(checkOutput(ref, { tokens: [5, 6, 7, 8], text: '' })).toEqual({ ok: true, detail: 'tokens 4/4' });
    expect(checkOutput(ref, { tokens: [5, 6, 9, 8], text: '' })).toEqual({
      ok: false,
      detail: 'token 2 is 9, reference 7',
    });
  });

  it('fails a row that stops early or runs long', () => {
    expect(checkOutput(ref, { tokens: [5, 6], text: '' }).ok).toBe(false);
    expect(checkOutput(ref, { tokens: [5, 6, 7, 8, 9], text: '' }).ok).toBe(false);
  });

  it('compares text when a row gives no ids, ignoring leading whitespace only', () => {
    expect(checkOutput(ref, { text: 'a b c d' }).ok).toBe(true);
    const v = checkOutput(ref, { text: 'a b x d' });
    expect(v.ok).toBe(false);
    expect(v.detail).toContain('char 4');
    expect(checkOutput(ref, { text: 'a b c d ' }).ok).toBe(false);
  });
});

const ok = { ok: true, detail: 'tokens 4/4' };
const rows: RowOutcome[] = [
  {
    label: 'base',
    prefill: [10, 30, 20],
    decode: [100, 300, 200],
    ttftMs: [3, 1, 2],
    verdict: ok,
    notes: '',
  },
  { label: 'fast', prefill: [40], decode: [1000, 800, 600], ttftMs: [1], verdict: ok, notes: '' },
  {
    label: 'wrong',
    prefill: [40],
    decode: [5000],
    ttftMs: [1],
    verdict: { ok: false, detail: 'token 1 is 3, reference 6' },
    notes: '',
  },
  { label: 'absent', skipped: 'peer module missing' },
];

describe('figuresFor / h2hTable', () => {
  it('gives medians and ratios against the named baseline, none to a wrong row', () => {
    const figs = figuresFor('m', rows, 'base');
    const decode = (label: string) => figs.find((f) => f.name === `m ${label} decode`)!;
    expect(decode('base')).toMatchObject({ median: 200, min: 100, max: 300, ratio: 1 });
    expect(decode('fast')).toMatchObject({ median: 800, ratio: 4, baseline: 200 });
    expect(decode('wrong').ratio).toBeUndefined();
    expect(figs.some((f) => f.name.includes('absent'))).toBe(false);
  });

  it('leaves out a figure a row does not report instead of writing NaN', () => {
    const native: RowOutcome = {
      label: 'native',
      prefill: [50],
      decode: [400],
      ttftMs: [],
      verdict: ok,
      notes: '',
    };
    const figs = figuresFor('m', [...rows, native], 'base');
    expect(figs.filter((f) => f.name.startsWith('m native')).map((f) => f.name)).toEqual([
      'm native prefill',
      'm native decode',
    ]);
    expect(h2hTable('m', [native], 'native').at(-1)).toContain('×1.00');
  });

  it('ranks correct rows by decode, puts wrong rows below them unranked, prints skips', () => {
    const lines = h2hTable('m', rows, 'base');
    const at = (label: string) => lines.findIndex((l) => l.trimStart().startsWith(label));
    expect(at('fast')).toBeLessThan(at('base'));
    expect(at('base')).toBeLessThan(at('wrong'));
    expect(lines[at('fast')]).toContain('×4.00');
    expect(lines[at('fast')]).toContain('800.0 [600.0–1000.0]');
    expect(lines[at('wrong')]).toContain('✗');
    expect(lines[at('wrong')]).not.toContain('×');
    expect(lines[at('absent')]).toContain('skipped: peer module missing');
  });

  it('gives no ratios when the baseline itself is wrong', () => {
    const lines = h2hTable('m', rows, 'wrong');
    expect(lines[0]).toContain('no ratios');
    expect(lines.slice(2).some((l) => l.includes('×'))).toBe(false);
  });
});

describe('hfTokenizerJson', () => {
  const tok: TokenizerData = {
    model: 'llama',
    tokens: ['<unk>', '<s>', '</s>', '<0x41>', '▁', 'a', 'b', 'ab', '▁ab', '▁a'],
    scores: Float32Array.from([0, 0, 0, 0, -1, -2, -3, -4, -6, -5]),
    tokenTypes: Int32Array.from([2, 3, 3, 6, 1, 1, 1, 1, 1, 1]),
    bos: 1,
    eos: 2,
    unk: 0,
    addBos: true,
    addSpacePrefix: true,
  };

  it('ranks merges by the merged piece score, skipping specials and bytes', () => {
    const j = hfTokenizerJson(tok);
    expect(j.model.merges).toEqual([
      ['a', 'b'],
      ['▁', 'a'],
      ['▁', 'ab'],
      ['▁a', 'b'],
    ]);
    expect(j.model.vocab['<0x41>']).toBe(3);
    expect(j.added_tokens.map((t) => t.id)).toEqual([0, 1, 2]);
    expect(JSON.stringify(j.post_processor)).toContain('"ids":[1]');
  });

  it('merges from single characters the vocabulary lacks, as SentencePiece starts from characters', () => {
    const noSpace: TokenizerData = {
      ...tok,
      tokens: ['<unk>', '<s>', '</s>', '▁a', 'b', '▁ab'],
      scores: Float32Array.from([0, 0, 0, -1, -2, -3]),
      tokenTypes: Int32Array.from([2, 3, 3, 1, 1, 1]),
    };
    expect(hfTokenizerJson(noSpace).model.merges).toEqual([
      ['▁', 'a'],
      ['▁a', 'b'],
    ]);
  });

  it('refuses a byte-level BPE vocabulary with a typed error', () => {
    expect(() => hfTokenizerJson({ ...tok, model: 'gpt2' })).toThrow(/SentencePiece/);
  });
});
