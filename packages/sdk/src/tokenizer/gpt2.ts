import type { EncodeBudget } from './encode-budget.js';
import { type MergeScratch, WORK_QUANTUM } from './merge-queue.js';
import { type PreTokenizer, preTokenizer, splitWords } from './pre-tokenizers.js';
import { TOKEN_TYPE, type TokenizerData } from './tokenizer-data.js';
import { utf8Into } from './utf8.js';

/** GPT-2's reversible map from bytes to printable code points, so BPE works on "characters". */
function byteToUnicode(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(keep(b) ? b : 256 + extra++);
  return map;
}

const BYTE_CHAR = byteToUnicode();
const CACHE_WORDS = 1 << 15;

/**
 * Byte-level BPE (GGUF tokenizer model `gpt2`: Llama 3, Qwen2/3, SmolLM, Phi-2…), as llama.cpp's
 * `llm_tokenizer_bpe_session`: the pre-tokenizer the file names cuts text into words, each word's
 * UTF-8 bytes become symbols, and adjacent pairs merge lowest rank first (leftmost on ties)
 * through a priority queue, O(n log n) in the word's length.
 *
 * Symbols are ids: a vocabulary token, or, for merge parts and results the vocabulary lacks, an
 * id past its end standing for that text, so merging by ids is merging by text as llama.cpp does.
 */
export class Gpt2Tokenizer {
  readonly pre: PreTokenizer;
  private readonly ids = new Map<string, number>();
  private readonly extra: string[] = [];
  private readonly byteId = new Int32Array(256);
  // open-addressed (left id, right id) → merge rank
  private readonly keyL: Int32Array;
  private readonly keyR: Int32Array;
  private readonly rankOf: Int32Array;
  private readonly mask: number;
  private readonly mergeId: Int32Array;
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly data: TokenizerData) {
    this.pre = preTokenizer(data.pre);
    // llama.cpp's token_to_id keeps the last of duplicate texts
    const tokens = data.tokens;
    for (let i = 0; i < tokens.length; i++) this.ids.set(tokens[i]!, i);
    for (let b = 0; b < 256; b++) this.byteId[b] = this.symbol(BYTE_CHAR[b]!);
    const merges = data.merges ?? [];
    let cap = 16;
    while (cap < merges.length * 2) cap *= 2;
    this.mask = cap - 1;
    this.keyL = new Int32Array(cap).fill(-1);
    this.keyR = new Int32Array(cap);
    this.rankOf = new Int32Array(cap);
    this.mergeId = new Int32Array(merges.length);
    for (let rank = 0; rank < merges.length; rank++) this.addMerge(merges[rank]!, rank);
  }

  private addMerge(m: string, rank: number): void {
    const at = m.indexOf(' ', 1);
    if (at < 0) return;
    const l = this.symbol(m.slice(0, at));
    const r = this.symbol(m.slice(at + 1));
    // one flat string hashes faster than a concatenation (280k merges in Llama 3)
    this.mergeId[rank] = this.symbol(m[0] === ' ' ? m.slice(0, at) + m.slice(at + 1) : m.replace(' ', ''));
    let h = this.hash(l, r);
    while (this.keyL[h] !== -1) {
      if (this.keyL[h] === l && this.keyR[h] === r) return; // the first (lowest) rank wins
      h = (h + 1) & this.mask;
    }
    this.keyL[h] = l;
    this.keyR[h] = r;
    this.rankOf[h] = rank;
  }

  /** Id of a symbol's text: its token, or an id past the vocabulary for text it lacks. */
  private symbol(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.data.tokens.length + this.extra.length;
      this.extra.push(text);
      this.ids.set(text, id);
    }
    return id;
  }

  private hash(l: number, r: number): number {
    return (Math.imul(l, 0x9e3779b1) ^ Math.imul(r + 0x7f4a7c15, 0x85ebca77)) & this.mask;
  }

  private rank(l: number, r: number): number {
    let h = this.hash(l, r);
    for (;;) {
      const k = this.keyL[h]!;
      if (k === -1) return -1;
      if (k === l && this.keyR[h] === r) return this.rankOf[h]!;
      h = (h + 1) & this.mask;
    }
  }

  /**
   * Appends the tokens of `text` (one raw fragment: no special tokens in it) to `out`. Yields
   * every few thousand units of work so an async caller can give the event loop a turn.
   */
  *encode(text: string, out: number[], scratch: MergeScratch, budget: EncodeBudget): Generator<void> {
    const src = this.pre.nfc ? yield* nfc(text) : text;
    let work = 0;
    let at = 0;
    for (const end of splitWords(src, 0, src.length, this.pre.patterns)) {
      const word = src.slice(at, end);
      at = end;
      const hit = this.cache.get(word);
      if (hit) {
        for (const id of hit) out.push(id);
        work += 4;
      } else {
        const from = out.length;
        yield* this.word(word, out, scratch);
        if (this.cache.size >= CACHE_WORDS) this.cache.clear();
        if (word.length < 64) this.cache.set(word, out.slice(from));
        work += 4 + word.length;
      }
      budget.check(out.length);
      if (work >= WORK_QUANTUM) {
        work = 0;
        yield;
      }
    }
  }

  private *word(word: string, out: number[], s: MergeScratch): Generator<void> {
    const n = utf8Into(word, 0, word.length, s);
    const vocab = this.data.tokens.length;
    if (this.pre.ignoreMerges) {
      let text = '';
      for (let i = 0; i < n; i++) text += BYTE_CHAR[s.bytes[i]!];
      const id = this.ids.get(text);
      if (id !== undefined && id < vocab) {
        out.push(id);
        return;
      }
    }
    s.reserve(n);
    const { id, len, prev, next, bytes, queue } = s;
    for (let i = 0; i < n; i++) {
      id[i] = this.byteId[bytes[i]!]!;
      len[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    queue.clear();
    for (let i = 1; i < n; i++) this.pair(s, i - 1, i);
    let work = 0;
    while (queue.length > 0) {
      queue.pop();
      const rank = queue.topPrio;
      const l = queue.topLeft;
      const r = next[l]!;
      // stale: l was merged away, or its pair with its right neighbour is no longer this merge
      if (len[l] === 0 || r < 0 || this.rank(id[l]!, id[r]!) !== rank) continue;
      id[l] = this.mergeId[rank]!;
      len[l]! += len[r]!;
      len[r] = 0;
      const nr = next[r]!;
      next[l] = nr;
      if (nr >= 0) prev[nr] = l;
      if (prev[l]! >= 0) this.pair(s, prev[l]!, l);
      if (nr >= 0) this.pair(s, l, nr);
      if (++work >= WORK_QUANTUM) {
        work = 0;
        yield;
      }
    }
    for (let i = 0; i >= 0; i = next[i]!) {
      const t = id[i]!;
      if (t < vocab) {
        out.push(t);
        continue;
      }
      // text the vocabulary lacks: llama.cpp emits the tokens of its single-byte pieces, if any
      for (const ch of this.extra[t - vocab]!) {
        const b = this.ids.get(ch);
        if (ch.length === 1 && ch.charCodeAt(0) < 0x80 && b !== undefined && b < vocab) out.push(b);
      }
    }
  }

  private pair(s: MergeScratch, l: number, r: number): void {
    const rank = this.rank(s.id[l]!, s.id[r]!);
    if (rank >= 0) s.queue.push(rank, l, 0);
  }

  tokenBytes(id: number): Uint8Array {
    const piece = this.data.tokens[id];
    const type = this.data.tokenTypes?.[id] ?? TOKEN_TYPE.normal;
    if (piece === undefined || type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown) {
      return new Uint8Array(0);
    }
    // user-defined tokens (<think>…) are stored as plain text, not in the byte alphabet
    if (type === TOKEN_TYPE.userDefined) return new TextEncoder().encode(piece);
    const bytes: number[] = [];
    for (const ch of piece) {
      const b = UNICODE_BYTE.get(ch);
      if (b !== undefined) bytes.push(b);
      else bytes.push(...new TextEncoder().encode(ch));
    }
    return Uint8Array.from(bytes);
  }
}

const UNICODE_BYTE = new Map(BYTE_CHAR.map((ch, b) => [ch, b]));

/**
 * NFC in slices, pausing between them. A slice ends just before an ASCII character: nothing
 * composes with a following ASCII character, so the slices normalise as the whole would.
 */
function* nfc(text: string): Generator<void, string> {
  const step = WORK_QUANTUM * 16;
  if (text.length <= step) return text.normalize('NFC');
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + step);
    while (end < text.length && text.charCodeAt(end) >= 0x80) end++;
    out.push(text.slice(at, end).normalize('NFC'));
    at = end;
    yield;
  }
  return out.join('');
}
