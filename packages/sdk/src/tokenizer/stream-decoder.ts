/** What the decoder needs of a tokenizer. */
export interface TokenPieces {
  tokenBytes(id: number): Uint8Array;
  readonly bos: number;
  readonly addSpacePrefix: boolean;
}

/**
 * Turns token ids into text as they arrive. Bytes of a character split across tokens are held
 * back until the character is whole, so a stream never shows U+FFFD mid-character.
 */
export class StreamDecoder {
  private readonly utf8 = new TextDecoder('utf-8');
  private prev: number;

  /** @param prev the token before the first one to decode (BOS at the start of a text). */
  constructor(
    private readonly tok: TokenPieces,
    prev = -1,
  ) {
    this.prev = prev;
  }

  /** Text made final by this token; '' while a character is incomplete. */
  push(id: number): string {
    let bytes = this.tok.tokenBytes(id);
    // SentencePiece's dummy prefix: the first word after BOS carries a space nobody typed.
    if ((this.prev === this.tok.bos || this.prev === -1) && this.tok.addSpacePrefix && bytes[0] === 0x20) {
      bytes = bytes.subarray(1);
    }
    this.prev = id;
    return this.utf8.decode(bytes, { stream: true });
  }

  /** Whatever is left at the end (an incomplete character becomes U+FFFD here, and only here). */
  flush(): string {
    return this.utf8.decode();
  }
}
