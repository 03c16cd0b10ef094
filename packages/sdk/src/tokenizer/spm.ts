import { EdgeLMError } from '../errors.js';
import type { TokenizerData } from './tokenizer-data.js';

const SPACE = '▁';

/**
 * SentencePiece BPE with merge scores, as llama2.c's `encode` and llama.cpp's SPM tokenizer
 * do it: a dummy-prefix space, one token per code point where the vocabulary has it (else its
 * UTF-8 bytes as `<0xNN>`), then repeatedly merge the adjacent pair whose merged piece has
 * the highest score (leftmost on ties).
 */
export class SpmTokenizer {
  private readonly ids = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);

  constructor(private readonly data: TokenizerData) {
    data.tokens.forEach((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
    });
    for (let b = 0; b < 256; b++) {
      const id = this.ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id !== undefined) this.byteIds[b] = id;
    }
  }

  encode(text: string): number[] {
    const normalized =
      (this.data.addSpacePrefix && text.length > 0 ? SPACE : '') + text.replaceAll(' ', SPACE);
    const toks: number[] = [];
    const utf8 = new TextEncoder();
    for (const ch of normalized) {
      const id = this.ids.get(ch);
      if (id !== undefined) {
        toks.push(id);
        continue;
      }
      for (const b of utf8.encode(ch)) {
        const bid = this.byteIds[b]!;
        if (bid < 0)
          throw new EdgeLMError('INVALID_ARGUMENT', `The vocabulary cannot encode byte ${b}`, { byte: b });
        toks.push(bid);
      }
    }
    return this.merge(toks);
  }

  private merge(toks: number[]): number[] {
    const { tokens, scores } = this.data;
    const pieces = toks.map((t) => tokens[t]!);
    // O(n²) like llama2.c; prompts are short next to a forward pass.
    for (;;) {
      let best = -Infinity;
      let bestAt = -1;
      let bestId = -1;
      for (let i = 0; i + 1 < toks.length; i++) {
        const id = this.ids.get(pieces[i]! + pieces[i + 1]!);
        if (id !== undefined && scores[id]! > best) {
          best = scores[id]!;
          bestAt = i;
          bestId = id;
        }
      }
      if (bestAt < 0) return toks;
      toks.splice(bestAt, 2, bestId);
      pieces.splice(bestAt, 2, tokens[bestId]!);
    }
  }

  /** The bytes a token stands for; control tokens yield nothing. */
  tokenBytes(id: number): Uint8Array {
    const piece = this.data.tokens[id];
    if (piece === undefined) return new Uint8Array(0);
    const type = this.data.tokenTypes?.[id] ?? 1;
    if (type === 6 || /^<0x[0-9A-F]{2}>$/.test(piece))
      return Uint8Array.of(Number.parseInt(piece.slice(3, 5), 16));
    if (type === 3 || type === 2) return new Uint8Array(0);
    return new TextEncoder().encode(piece.replaceAll(SPACE, ' '));
  }
}
