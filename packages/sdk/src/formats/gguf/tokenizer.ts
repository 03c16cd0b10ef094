import { EdgeLMError } from '../../errors.js';
import { preTokenizer } from '../../tokenizer/pre-tokenizers.js';
import { TOKEN_TYPE, type TokenizerData } from '../../tokenizer/tokenizer-data.js';
import type { GgufMetadata } from './metadata.js';

// Pre-tokenizers for which llama.cpp adds BOS unless the file says otherwise.
const LLAMA3_PRE = new Set(['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'pixtral', 'tekken']);

// Token texts llama.cpp treats as end of generation whatever their type (llama-vocab.cpp's
// special_eog_ids), made control tokens as llama.cpp does.
const END_OF_GENERATION = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '<|end_of_text|>',
  '<end_of_utterance>',
]);
// Fill-in-the-middle pad / repo / file-separator texts: llama.cpp ends generation on them too.
const FIM_END = [
  ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>'],
  ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
  ['<|file_sep|>', '<file_sep>', '<file-sep>', '<FILE_SEP>', '<filename>'],
];

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
  for (const key of [
    'tokenizer.ggml.eot_token_id',
    'tokenizer.ggml.eom_token_id',
    'tokenizer.ggml.fim_pad_token_id',
    'tokenizer.ggml.fim_rep_token_id',
    'tokenizer.ggml.fim_sep_token_id',
  ]) {
    if (md.has(key)) eog.add(md.int(key, 0, n - 1));
  }
  const byText = new Map(tokens.map((t, i) => [t, i]));
  for (const group of FIM_END) {
    const id = group.map((t) => byText.get(t)).find((i) => i !== undefined);
    if (id !== undefined) eog.add(id);
  }
  const types = tokenTypes ? Int32Array.from(tokenTypes) : undefined;
  for (const t of END_OF_GENERATION) {
    const id = byText.get(t);
    if (id === undefined) continue;
    eog.add(id);
    if (types) types[id] = TOKEN_TYPE.control;
  }
  eog.delete(eos);
  const unk = md.has('tokenizer.ggml.unknown_token_id')
    ? md.int('tokenizer.ggml.unknown_token_id', 0, n - 1)
    : llama && types?.[0] === TOKEN_TYPE.unknown
      ? 0
      : undefined;
  const pre = llama ? undefined : md.optionalString('tokenizer.ggml.pre');
  if (!llama) preTokenizer(pre); // an unknown pre-tokenizer is refused at open, not at first prompt
  return {
    model,
    tokens,
    scores,
    tokenTypes: types,
    merges,
    pre,
    bos,
    eos,
    unk,
    eogIds: eog.size ? [...eog].sort((a, b) => a - b) : undefined,
    addBos: md.bool('tokenizer.ggml.add_bos_token', llama || LLAMA3_PRE.has(pre ?? '')),
    addEos: md.bool('tokenizer.ggml.add_eos_token', false),
    rstripSpecials: /phi-?3/.test((md.optionalString('general.name') ?? '').toLowerCase()) || undefined,
    addSpacePrefix: md.bool('tokenizer.ggml.add_space_prefix', llama),
  };
}
