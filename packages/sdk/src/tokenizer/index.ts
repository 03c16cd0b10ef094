// @edgelm/sdk/tokenizer — the tokenizer of a loaded model file, usable without an engine.

export { type EncodeOptions, Tokenizer } from './tokenizer.js';
export type { TokenizerData } from './tokenizer-data.js';
