/**
 * A tokenizer's vocabulary as files carry it (llama2.c `tokenizer.bin`, GGUF `tokenizer.ggml.*`),
 * before any lookup tables are built.
 */
export interface TokenizerData {
  /** 'llama': SentencePiece BPE with scores; 'gpt2': byte-level BPE with merges. */
  model: 'llama' | 'gpt2';
  tokens: string[];
  /** SentencePiece merge scores (llama); empty for gpt2. */
  scores: Float32Array;
  /** GGUF token types (1 normal, 2 unknown, 3 control, 6 byte) when known. */
  tokenTypes?: Int32Array;
  /** gpt2 merges, "a b" per entry. */
  merges?: string[];
  bos: number;
  eos: number;
  /** Extra ids that end generation (e.g. <|im_end|>). */
  eogIds?: number[];
  addBos: boolean;
  /** SentencePiece dummy prefix: a space before the text. */
  addSpacePrefix: boolean;
}
