import { EdgeLMError } from '../../errors.js';
import type { TokenizerData } from '../../tokenizer/tokenizer-data.js';
import type { GgufMetadata } from './metadata.js';

/** GGUF token type of control tokens (chat markers, BOS/EOS). */
const CONTROL = 3;

/**
 * Control tokens that end a turn in common chat formats; llama.cpp treats them as end of
 * generation even when the file names only one EOS.
 */
const END_OF_TURN = new Set([
  '<|im_end|>',
  '<|eot_id|>',
  '<|eom_id|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
]);

/**
 * Splits GPT-2 merges ("Ġ t" per entry) into pairs. Byte-level BPE maps the space to "Ġ", so
 * the single space in an entry is the separator; an entry without one is CORRUPT.
 *
 * @example
 * ```ts
 * const ranks = new Map(parseMerges(data.merges ?? []).map(([a, b], i) => [`${a} ${b}`, i]));
 * ```
 */
export function parseMerges(merges: readonly string[]): [string, string][] {
  return merges.map((m, i) => {
    const at = m.indexOf(' ', 1);
    if (at < 0)
      throw new EdgeLMError('CORRUPT', `Merge ${i} ("${m.slice(0, 40)}") has no separator`, { index: i });
    return [m.slice(0, at), m.slice(at + 1)];
  });
}

/** `tokenizer.ggml.*` → TokenizerData; absent flags default as llama.cpp defaults them. */
export function ggufTokenizer(md: GgufMetadata): TokenizerData {
  const model = md.string('tokenizer.ggml.model');
  if (model !== 'llama' && model !== 'gpt2') {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      `Tokenizer model "${model}" is not supported (llama, gpt2 are)`,
      {
        tokenizer: model,
      },
    );
  }
  const llama = model === 'llama';
  const tokens = md.stringArray('tokenizer.ggml.tokens');
  const n = tokens.length;
  if (n === 0) throw new EdgeLMError('CORRUPT', 'The vocabulary is empty', {});
  const scores = md.has('tokenizer.ggml.scores')
    ? md.floatArray('tokenizer.ggml.scores', n)
    : new Float32Array(llama ? n : 0);
  const tokenTypes = md.has('tokenizer.ggml.token_type')
    ? md.intArray('tokenizer.ggml.token_type', n)
    : undefined;
  let merges: string[] | undefined;
  if (md.has('tokenizer.ggml.merges') || !llama) {
    merges = md.stringArray('tokenizer.ggml.merges');
    parseMerges(merges);
  }
  const eos = md.int('tokenizer.ggml.eos_token_id', 0, n - 1, llama ? Math.min(2, n - 1) : undefined);
  const bos = md.int('tokenizer.ggml.bos_token_id', 0, n - 1, llama ? Math.min(1, n - 1) : eos);
  const eog = new Set<number>();
  for (const key of ['tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eom_token_id']) {
    if (md.has(key)) eog.add(md.int(key, 0, n - 1));
  }
  if (tokenTypes) {
    for (let id = 0; id < n; id++) if (tokenTypes[id] === CONTROL && END_OF_TURN.has(tokens[id])) eog.add(id);
  }
  eog.delete(eos);
  return {
    model,
    tokens,
    scores,
    tokenTypes,
    merges,
    bos,
    eos,
    eogIds: eog.size ? [...eog].sort((a, b) => a - b) : undefined,
    addBos: md.bool('tokenizer.ggml.add_bos_token', llama),
    addSpacePrefix: md.bool('tokenizer.ggml.add_space_prefix', llama),
  };
}
