import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import type { TokenizerData } from '../src/tokenizer/tokenizer-data.js';
import { openStories260K } from './helpers/models.js';

/**
 * llama2.c's `encode()` transliterated loop for loop (sorted vocab + binary search, byte
 * fallback by +3, greedy best-score merges), as an independent judge of our tokenizer.
 */
function llama2cEncode(data: TokenizerData, text: string, bos: boolean): number[] {
  // llama2.c's vocab has spaces where SentencePiece has '▁'
  const vocab = data.tokens.map((t) => t.replaceAll('▁', ' '));
  const sorted = vocab
    .map((str, id) => ({ str, id }))
    .sort((a, b) => (a.str < b.str ? -1 : a.str > b.str ? 1 : 0));
  const lookup = (s: string): number => {
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = sorted[mid]!;
      if (m.str === s) return m.id;
      if (m.str < s) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  if (text.length > 0) tokens.push(lookup(' '));
  const bytes = new TextEncoder().encode(text);
  let buf: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if ((c & 0xc0) !== 0x80) buf = [];
    buf.push(c);
    if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup(new TextDecoder().decode(Uint8Array.from(buf)));
    if (id !== -1) tokens.push(id);
    else for (const b of buf) tokens.push(b + 3);
    buf = [];
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup(vocab[tokens[i]!]! + vocab[tokens[i + 1]!]!);
      if (id !== -1 && data.scores[id]! > bestScore) {
        bestScore = data.scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
}

describe('SentencePiece tokenizer (tok512)', () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = new Tokenizer((await openStories260K()).tokenizer);
  });

  const prompts = [
    'Once upon a time',
    'Lily and Tom went to the park. They saw a big dog!',
    '  two leading spaces, and "quotes" (parentheses) 123 4567',
    'Café naïve — déjà vu',
    '日本語のテキスト',
    'emoji 🙂 and 🐉 dragons',
    'tabs\tand\nnewlines',
    'a',
  ];

  it.each(prompts)('encodes %j as llama2.c does', (p) => {
    expect(tok.encode(p)).toEqual(llama2cEncode(tok.data, p, true));
  });

  it.each(prompts)('decodes %j back to the same text', (p) => {
    expect(tok.decode(tok.encode(p))).toBe(p);
  });

  it('falls back to bytes for characters outside the vocabulary', () => {
    const ids = tok.encode('🙂', { bos: false });
    // U+1F642 is four UTF-8 bytes; tok512 has none of them merged, so four byte tokens follow the space.
    expect(ids.slice(-4)).toEqual([0xf0 + 3, 0x9f + 3, 0x99 + 3, 0x82 + 3]);
  });

  it('never shows U+FFFD mid-stream when a character spans tokens', () => {
    const ids = tok.encode('x 🐉 y', { bos: false });
    const d = tok.decoder();
    const pieces = ids.map((id) => d.push(id));
    expect(pieces.join('') + d.flush()).toBe('x 🐉 y');
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(pieces.filter((p) => p === '').length).toBeGreaterThanOrEqual(3);
  });

  it('adds BOS and EOS on request', () => {
    const ids = tok.encode('hi', { bos: true, eos: true });
    expect(ids[0]).toBe(1);
    expect(ids[ids.length - 1]).toBe(2);
    expect(tok.encode('hi', { bos: false })[0]).not.toBe(1);
    expect(tok.encode('')).toEqual([1]);
  });
});

describe('GPT-2 byte-level BPE', () => {
  // A tiny vocabulary with merges, in GPT-2's byte-to-unicode alphabet ('Ġ' is the space byte).
  const base = Array.from({ length: 256 }, (_, b) => b);
  const enc = (b: number) => {
    const keep = (x: number) => (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
    let n = 0;
    for (let x = 0; x < b; x++) if (!keep(x)) n++;
    return String.fromCodePoint(keep(b) ? b : 256 + n);
  };
  const tokens = [...base.map(enc), 'he', 'll', 'hell', 'hello', 'Ġw', 'Ġwor', 'Ġworld', '<|endoftext|>'];
  const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'Ġw o', 'o r', 'Ġwo r', 'Ġwor l', 'Ġworl d'];
  const data: TokenizerData = {
    model: 'gpt2',
    tokens: [...tokens.slice(0, 262), 'Ġwo', 'Ġworl', ...tokens.slice(262)],
    scores: new Float32Array(0),
    merges,
    bos: 0,
    eos: 0,
    addBos: false,
    addSpacePrefix: false,
  };
  data.tokenTypes = Int32Array.from(data.tokens, (t) => (t === '<|endoftext|>' ? 3 : 1));

  it('merges by rank and round-trips arbitrary UTF-8', () => {
    const t = new Tokenizer(data);
    const ids = t.encode('hello world');
    expect(ids.map((i) => data.tokens[i])).toEqual(['hello', 'Ġworld']);
    for (const s of ['hello world', 'naïve 🙂\n  spaced', '']) expect(t.decode(t.encode(s))).toBe(s);
  });
});
