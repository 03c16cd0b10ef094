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
  /** GGUF token types ({@link TOKEN_TYPE}) when known. */
  tokenTypes?: Int32Array;
  /** gpt2 merges, "a b" per entry. */
  merges?: string[];
  /** gpt2 pre-tokenizer (GGUF `tokenizer.ggml.pre`); absent means llama.cpp's `default`. */
  pre?: string;
  bos: number;
  eos: number;
  /** Unknown-token id, when the vocabulary has one. */
  unk?: number;
  /** Extra ids that end generation (e.g. <|im_end|>). */
  eogIds?: number[];
  addBos: boolean;
  /** Append EOS when encoding with the model's defaults (GGUF `add_eos_token`). */
  addEos?: boolean;
  /** SentencePiece dummy prefix: a space before the text. */
  addSpacePrefix: boolean;
  /**
   * Whitespace right after a special token is dropped when special tokens are parsed (llama.cpp's
   * RSTRIP attribute, which it sets on Phi-3's special tokens but `<unk>`, `<s>`, `<|endoftext|>`).
   */
  rstripSpecials?: boolean;
}

/** GGUF's `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`). */
export const TOKEN_TYPE = {
  undefined: 0,
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;
