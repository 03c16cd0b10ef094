import { EdgeLMError } from '../errors.js';
import type { EncodeBudget } from './encode-budget.js';
import { type MergeScratch, WORK_QUANTUM } from './merge-queue.js';
import { TOKEN_TYPE, type TokenizerData } from './tokenizer-data.js';
import { utf8Into } from './utf8.js';

const SPACE = '▁';
const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * SentencePiece BPE with merge scores (GGUF tokenizer model `llama`: Llama 2, TinyLlama, Mistral,
 * Gemma), as llama.cpp's `llm_tokenizer_spm_session`: spaces become '▁' (plus a dummy-prefix
 * space where the vocabulary asks), every code point is a symbol, adjacent symbols whose
 * concatenation is a token merge highest score first (leftmost on ties) through a priority queue,
 * and what never became a token is spelled as its UTF-8 bytes (`<0xNN>`).
 */
export class SpmTokenizer {
  private readonly ids = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Scores as ranks (0 = highest), the integer priorities the merge queue packs. */
  private readonly scoreRank: Int32Array;

  constructor(private readonly data: TokenizerData) {
    // llama.cpp's token_to_id keeps the last of duplicate texts
    data.tokens.forEach((t, i) => {
      this.ids.set(t, i);
    });
    const byScore = data.tokens.map((_, i) => i).sort((a, b) => data.scores[b]! - data.scores[a]!);
    this.scoreRank = new Int32Array(data.tokens.length);
    let rank = 0;
    byScore.forEach((id, k) => {
      if (k > 0 && data.scores[id] !== data.scores[byScore[k - 1]!]) rank = k;
      this.scoreRank[id] = rank;
    });
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      this.byteIds[b] = this.ids.get(`<0x${hex}>`) ?? this.ids.get(String.fromCharCode(b)) ?? -1;
    }
  }

  /**
   * Appends the tokens of one raw fragment to `out`; `prefix` adds SentencePiece's dummy space
   * (llama.cpp adds it at the start and after every special token). Yields every few thousand
   * units of work.
   */
  *encode(
    text: string,
    out: number[],
    s: MergeScratch,
    budget: EncodeBudget,
    prefix: boolean,
  ): Generator<void> {
    // escaped in slices (a megabyte takes a while) and joined flat: symbol scans and slices of a
    // concatenated string would walk its pieces every time
    const pieces: string[] = prefix ? [SPACE] : [];
    for (let at = 0; at < text.length; at += WORK_QUANTUM * 16) {
      pieces.push(text.slice(at, at + WORK_QUANTUM * 16).replaceAll(' ', SPACE));
      yield;
    }
    const src = pieces.join('');
    const n0 = src.length;
    s.reserve(n0);
    const { start, len, prev, next, queue } = s;
    let n = 0;
    let work = 0;
    for (let i = 0; i < n0; n++) {
      const c = src.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < n0 ? 2 : 1;
      start[n] = i;
      len[n] = w;
      prev[n] = n - 1;
      next[n] = n + 1;
      i += w;
      if (++work >= WORK_QUANTUM * 16) {
        work = 0;
        yield;
      }
    }
    if (n === 0) return;
    next[n - 1] = -1;
    queue.clear();
    for (let i = 1; i < n; i++) {
      this.pair(src, s, i - 1, i);
      if (++work >= WORK_QUANTUM) {
        work = 0;
        yield;
      }
    }
    while (queue.length > 0) {
      queue.pop();
      const l = queue.topLeft;
      const r = next[l]!;
      // stale: l was merged away or one side grew since this pair was queued
      if (len[l] === 0 || r < 0 || len[l]! + len[r]! !== queue.topAux) continue;
      len[l]! += len[r]!;
      len[r] = 0;
      const nr = next[r]!;
      next[l] = nr;
      if (nr >= 0) prev[nr] = l;
      if (prev[l]! >= 0) this.pair(src, s, prev[l]!, l);
      if (nr >= 0) this.pair(src, s, l, nr);
      if (++work >= WORK_QUANTUM) {
        work = 0;
        yield;
      }
    }
    for (let i = 0; i >= 0; i = next[i]!) {
      const id = this.ids.get(src.slice(start[i]!, start[i]! + len[i]!));
      if (id !== undefined) out.push(id);
      else this.bytes(src, start[i]!, start[i]! + len[i]!, out, s);
      budget.check(out.length);
      if (++work >= WORK_QUANTUM) {
        work = 0;
        yield;
      }
    }
  }

  private pair(src: string, s: MergeScratch, l: number, r: number): void {
    const size = s.len[l]! + s.len[r]!;
    const id = this.ids.get(src.slice(s.start[l]!, s.start[l]! + size));
    if (id !== undefined) s.queue.push(this.scoreRank[id]!, l, size);
  }

  /** A symbol no token covers, as byte tokens (llama.cpp's byte fallback). */
  private bytes(src: string, from: number, to: number, out: number[], s: MergeScratch): void {
    // the merge loop is done with the scratch symbols by now; only its byte buffer is reused
    const n = utf8Into(src, from, to, s);
    for (let k = 0; k < n; k++) {
      const b = s.bytes[k]!;
      const id = this.byteIds[b]!;
      if (id >= 0) out.push(id);
      else if (this.data.unk !== undefined) out.push(this.data.unk);
      else throw new EdgeLMError('INVALID_ARGUMENT', `The vocabulary cannot encode byte ${b}`, { byte: b });
    }
  }

  /** The bytes a token stands for; control and unknown tokens yield nothing. */
  tokenBytes(id: number): Uint8Array {
    const piece = this.data.tokens[id];
    if (piece === undefined) return new Uint8Array(0);
    const type = this.data.tokenTypes?.[id] ?? TOKEN_TYPE.normal;
    if (type === TOKEN_TYPE.byte || (type !== TOKEN_TYPE.userDefined && BYTE_PIECE.test(piece))) {
      return Uint8Array.of(Number.parseInt(piece.slice(3, 5), 16));
    }
    if (type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown) return new Uint8Array(0);
    // llama.cpp copies user-defined tokens verbatim and un-escapes '▁' only in normal ones
    if (type === TOKEN_TYPE.userDefined) return new TextEncoder().encode(piece);
    return new TextEncoder().encode(piece.replaceAll(SPACE, ' '));
  }
}
