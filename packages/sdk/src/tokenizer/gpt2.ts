import { EdgeLMError } from '../errors.js';
import type { TokenizerData } from './tokenizer-data.js';

/** GPT-2's reversible map from bytes to printable code points, so BPE works on "characters". */
function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  }
  return map;
}

// GPT-2's pre-tokenizer: contractions, letters, numbers, punctuation runs, whitespace.
const PRETOKEN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Byte-level BPE (GGUF tokenizer model `gpt2`, used by Qwen2 and SmolLM): text is split by the
 * GPT-2 pattern, each piece's UTF-8 bytes become printable characters, then merges apply by rank.
 */
export class Gpt2Tokenizer {
  private readonly ids = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly encodeByte = byteToUnicode();
  private readonly decodeChar = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly data: TokenizerData) {
    data.tokens.forEach((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
    });
    (data.merges ?? []).forEach((m, i) => {
      this.ranks.set(m, i);
    });
    this.encodeByte.forEach((ch, b) => {
      this.decodeChar.set(ch, b);
    });
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const utf8 = new TextEncoder();
    for (const m of text.matchAll(PRETOKEN)) {
      const word = Array.from(utf8.encode(m[0]), (b) => this.encodeByte[b]!).join('');
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.bpe(word);
        if (this.cache.size < 10_000) this.cache.set(word, ids);
      }
      out.push(...ids);
    }
    return out;
  }

  private bpe(word: string): number[] {
    const parts = Array.from(word);
    for (;;) {
      let best = Number.POSITIVE_INFINITY;
      let at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      parts.splice(at, 2, parts[at]! + parts[at + 1]!);
    }
    return parts.map((p) => {
      const id = this.ids.get(p);
      if (id === undefined)
        throw new EdgeLMError('INVALID_ARGUMENT', `The vocabulary has no token for "${p}"`);
      return id;
    });
  }

  tokenBytes(id: number): Uint8Array {
    const piece = this.data.tokens[id];
    const type = this.data.tokenTypes?.[id] ?? 1;
    if (piece === undefined || type === 3) return new Uint8Array(0);
    const bytes: number[] = [];
    for (const ch of piece) {
      const b = this.decodeChar.get(ch);
      if (b !== undefined) bytes.push(b);
      else bytes.push(...new TextEncoder().encode(ch));
    }
    return Uint8Array.from(bytes);
  }
}
