import { EdgeLMError } from '../errors.js';

/**
 * How a byte-level BPE vocabulary cuts text into words before merging, keyed by GGUF's
 * `tokenizer.ggml.pre`, as llama.cpp's `llm_tokenizer_bpe` defines it: a list of patterns
 * applied one after the other (each one splits every piece the previous left, keeping the
 * text between matches as pieces of its own), plus the flags llama.cpp sets for that name.
 */
export interface PreTokenizer {
  readonly name: string;
  readonly patterns: readonly RegExp[];
  /** A word that is itself a token is emitted whole, without merges (llama.cpp's `ignore_merges`). */
  readonly ignoreMerges: boolean;
  /** Unicode NFC before splitting, as the model's Hugging Face normalizer does (Qwen2's). */
  readonly nfc: boolean;
}

// llama.cpp's `\s` is Unicode White_Space (it matches U+0085 and not U+FEFF); JavaScript's differs
// on exactly those two, so the patterns below spell the class out.
const WS = '\\t\\n\\v\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const CONTRACTIONS_CI = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

/** Source text in llama.cpp's notation (`\s`, `\S` as Unicode White_Space) → a JavaScript RegExp. */
function pattern(src: string): RegExp {
  let js = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1]!;
      i++;
      if (n === 's') js += inClass ? WS : `[${WS}]`;
      else if (n === 'S' && !inClass) js += `[^${WS}]`;
      else js += c + n;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    js += c;
  }
  return new RegExp(js, 'gu');
}

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3 = `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const BLOOM = ' ?[^(\\s|.,!?…。，、।۔،)]+';

interface Kind {
  patterns: string[];
  ignoreMerges?: boolean;
  nfc?: boolean;
}

// The pattern sets of llama.cpp's LLAMA_VOCAB_PRE_TYPE_* that small browser models use.
const KINDS = {
  default: {
    patterns: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  },
  gpt2: { patterns: [GPT2] },
  llama3: { patterns: [LLAMA3], ignoreMerges: true },
  llama3Keep: { patterns: [LLAMA3] },
  qwen2: { patterns: [QWEN2], nfc: true },
  stablelm2: { patterns: [QWEN2] },
  starcoder: { patterns: ['\\p{N}', GPT2] },
  falcon: { patterns: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'] },
  deepseekCoder: { patterns: ['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[一-龥ࠀ-一가-퟿]+', '\\p{N}'] },
  deepseek3: {
    patterns: [
      '\\p{N}{1,3}',
      '[一-龥぀-ゟ゠-ヿ]+',
      '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
    ],
  },
  bloom: { patterns: [BLOOM] },
  viking: { patterns: [BLOOM, '\\p{N}'] },
  tekken: {
    patterns: [
      '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
    ],
    ignoreMerges: true,
  },
  gpt4o: {
    patterns: [
      `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS_CI}?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS_CI}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
  },
} satisfies Record<string, Kind>;

// `tokenizer.ggml.pre` values → kind, as llama.cpp's vocabulary loader maps them.
const NAMES: Record<string, keyof typeof KINDS> = {
  default: 'default',
  'llama-bpe': 'llama3',
  llama3: 'llama3',
  'llama-v3': 'llama3',
  falcon3: 'llama3',
  'falcon-h1': 'llama3',
  pixtral: 'llama3',
  'midm-2.0': 'llama3',
  lfm2: 'llama3',
  dbrx: 'llama3Keep',
  'smaug-bpe': 'llama3Keep',
  'chatglm-bpe': 'llama3Keep',
  qwen2: 'qwen2',
  'qwen2.5': 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  megrez: 'qwen2',
  hunyuan: 'stablelm2',
  stablelm2: 'stablelm2',
  'gpt-2': 'gpt2',
  gpt2: 'gpt2',
  'phi-2': 'gpt2',
  'jina-es': 'gpt2',
  'jina-de': 'gpt2',
  'jina-v1-en': 'gpt2',
  'jina-v2-es': 'gpt2',
  'jina-v2-de': 'gpt2',
  'jina-v2-code': 'gpt2',
  'roberta-bpe': 'gpt2',
  gigachat: 'gpt2',
  mpt: 'gpt2',
  olmo: 'gpt2',
  jais: 'gpt2',
  trillion: 'gpt2',
  mellum: 'gpt2',
  starcoder: 'starcoder',
  refact: 'starcoder',
  'command-r': 'starcoder',
  smollm: 'starcoder',
  codeshell: 'starcoder',
  exaone: 'starcoder',
  'minerva-7b': 'starcoder',
  falcon: 'falcon',
  'deepseek-coder': 'deepseekCoder',
  'deepseek-v3': 'deepseek3',
  bloom: 'bloom',
  'poro-chat': 'bloom',
  'gpt3-finnish': 'bloom',
  viking: 'viking',
  tekken: 'tekken',
  'gpt-4o': 'gpt4o',
  llama4: 'gpt4o',
};

const cache = new Map<string, PreTokenizer>();

/**
 * The pre-tokenizer a GGUF names; absent means llama.cpp's `default`. An unknown name is
 * refused (llama.cpp refuses it too) rather than guessed, since a wrong split silently changes
 * every prompt.
 *
 * @example
 * ```ts
 * preTokenizer('llama-bpe').patterns.length; // 1
 * ```
 */
export function preTokenizer(name: string | undefined): PreTokenizer {
  const key = name ?? 'default';
  const hit = cache.get(key);
  if (hit) return hit;
  const kind = NAMES[key];
  if (!kind) {
    throw new EdgeLMError('UNSUPPORTED_TYPE', `Pre-tokenizer "${key}" is not supported`, { pre: key });
  }
  const k: Kind = KINDS[kind];
  const pre: PreTokenizer = {
    name: key,
    patterns: k.patterns.map(pattern),
    ignoreMerges: k.ignoreMerges ?? false,
    nfc: k.nfc ?? false,
  };
  cache.set(key, pre);
  return pre;
}

/** Names `preTokenizer` accepts. */
export function preTokenizerNames(): string[] {
  return Object.keys(NAMES);
}

/**
 * Splits `text[start, end)` into words as llama.cpp's `unicode_regex_split` does: every pattern
 * cuts the pieces the previous one left; unmatched stretches stay pieces. The words tile the
 * range, so each is yielded as its end offset (the next starts there); a caller can stop or
 * pause between words.
 */
export function* splitWords(
  text: string,
  start: number,
  end: number,
  patterns: readonly RegExp[],
  level = 0,
): Generator<number, void, void> {
  const re = new RegExp(patterns[level]!.source, 'gu');
  const last = level === patterns.length - 1;
  re.lastIndex = start;
  let at = start;
  // Matching in place (no slice) needs the range's end to look like the text's end to the pattern:
  // only lookaheads see past a match, so slice when the range stops short of the text.
  const piece = end === text.length ? text : text.slice(0, end);
  for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
    const s = m.index;
    const e = s + m[0].length;
    if (e === s) {
      re.lastIndex++;
      continue;
    }
    if (last) {
      if (s > at) yield s;
      yield e;
    } else {
      if (s > at) yield* splitWords(text, at, s, patterns, level + 1);
      yield* splitWords(text, s, e, patterns, level + 1);
    }
    at = e;
  }
  if (at < end) {
    if (last) yield end;
    else yield* splitWords(text, at, end, patterns, level + 1);
  }
}
