import { EdgeLMError } from '../errors.js';
import { EncodeBudget } from './encode-budget.js';
import { Gpt2Tokenizer } from './gpt2.js';
import { MergeScratch } from './merge-queue.js';
import { SpecialTokens } from './special-tokens.js';
import { SpmTokenizer } from './spm.js';
import { StreamDecoder } from './stream-decoder.js';
import type { TokenizerData } from './tokenizer-data.js';
import { yieldToEventLoop } from './yield.js';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend BOS (default: what the model asks for). */
  bos?: boolean;
  /** Append EOS (default: what the model asks for, usually not). */
  eos?: boolean;
  /**
   * Recognise control tokens (`<|im_start|>`, `<s>`…) written as text, as llama.cpp's
   * `parse_special`. Default false: never set it for text a user typed. For a prompt that mixes
   * template text and user text, pass {@link PromptPart}s instead.
   */
  parseSpecial?: boolean;
  /**
   * Stop counting past this many tokens and throw `CONTEXT_OVERFLOW`, so an over-long prompt
   * costs `maxTokens` tokens of work, not its whole length.
   */
  maxTokens?: number;
}

/** Options of {@link Tokenizer.encodeAsync}. */
export interface EncodeAsyncOptions extends EncodeOptions {
  signal?: AbortSignal;
  /** Longest stretch of work between two turns of the event loop, in ms (default 8). */
  sliceMs?: number;
}

/** A piece of a prompt: template text (`special: true`, control tokens recognised) or user text. */
export interface PromptPart {
  text: string;
  special: boolean;
}

/** Options of the {@link Tokenizer} constructor. */
export interface TokenizerOptions {
  /** Longest text `encode` accepts, in UTF-16 code units (default 4 Mi, at most 16 Mi), refused before any work. */
  maxInputChars?: number;
}

const DEFAULT_MAX_INPUT = 4 * 1024 * 1024;

/**
 * Text ⇄ token ids for a model's vocabulary, tokenizing as llama.cpp does for the same file.
 * Encoding is O(n log n) in the text's length; `encodeAsync` pauses every few milliseconds so a
 * long text never holds the event loop (of a worker or a server) for long.
 *
 * @example
 * ```ts
 * const tok = new Tokenizer(model.tokenizer);
 * const ids = tok.encode('Once upon a time');
 * const text = tok.decode(ids);
 * const chat = await tok.encodeAsync(prompt, { parseSpecial: true, maxTokens: 4096 });
 * ```
 */
export class Tokenizer {
  readonly bos: number;
  readonly eos: number;
  readonly addSpacePrefix: boolean;
  readonly vocabSize: number;
  readonly maxInputChars: number;
  private readonly bpe: Gpt2Tokenizer | null;
  private readonly spm: SpmTokenizer | null;
  private readonly specials: SpecialTokens;
  private readonly bytesCache: (Uint8Array | undefined)[];
  private readonly eog: Set<number>;
  private longestToken = -1;

  constructor(
    readonly data: TokenizerData,
    options: TokenizerOptions = {},
  ) {
    if (data.tokens.length === 0) throw new EdgeLMError('CORRUPT', 'The tokenizer has no tokens');
    this.bos = data.bos;
    this.eos = data.eos;
    this.addSpacePrefix = data.model === 'llama' && data.addSpacePrefix;
    this.vocabSize = data.tokens.length;
    // 2^24 UTF-16 units make at most 3 × 2^24 UTF-8 bytes, within the merge queue's MAX_SYMBOLS
    this.maxInputChars = Math.min(options.maxInputChars ?? DEFAULT_MAX_INPUT, 2 ** 24);
    this.bpe = data.model === 'gpt2' ? new Gpt2Tokenizer(data) : null;
    this.spm = data.model === 'gpt2' ? null : new SpmTokenizer(data);
    this.specials = new SpecialTokens(data);
    this.bytesCache = new Array(data.tokens.length);
    this.eog = new Set([data.eos, ...(data.eogIds ?? [])]);
  }

  /** Token ids of a text (or of template and user parts), all at once. */
  encode(input: string | readonly PromptPart[], options: EncodeOptions = {}): number[] {
    const job = this.job(input, options);
    let step = job.next();
    while (!step.done) step = job.next();
    return step.value;
  }

  /**
   * Like {@link encode}, giving the event loop a turn every `sliceMs` of work: a 1 MB text in a
   * server or a worker delays other work by a few milliseconds at a time, never by the whole encode.
   */
  async encodeAsync(
    input: string | readonly PromptPart[],
    options: EncodeAsyncOptions = {},
  ): Promise<number[]> {
    const slice = options.sliceMs ?? 8;
    const job = this.job(input, options);
    let deadline = performance.now() + slice;
    for (;;) {
      const step = job.next();
      if (step.done) return step.value;
      if (performance.now() < deadline) continue;
      await yieldToEventLoop();
      if (options.signal?.aborted) throw new EdgeLMError('ABORTED', 'Tokenization was aborted');
      deadline = performance.now() + slice;
    }
  }

  private *job(input: string | readonly PromptPart[], options: EncodeOptions): Generator<void, number[]> {
    const text = typeof input === 'string' ? input : input.map((p) => p.text).join('');
    if (text.length > this.maxInputChars) {
      throw new EdgeLMError(
        'LIMIT_EXCEEDED',
        `The text has ${text.length} characters; the tokenizer accepts at most ${this.maxInputChars}`,
        { length: text.length, limit: this.maxInputChars },
      );
    }
    const budget = new EncodeBudget(options.maxTokens ?? Number.POSITIVE_INFINITY);
    this.refuseEarly(text, budget);
    const out: number[] = [];
    if (options.bos ?? this.data.addBos) out.push(this.bos);
    const frags = yield* this.specials.partition(text, this.specialMask(input, options));
    const scratch = new MergeScratch();
    let prevSpecial = true;
    for (let f = 0; f < frags.id.length; f++) {
      const id = frags.id[f]!;
      if (id >= 0) {
        out.push(id);
        prevSpecial = true;
        budget.check(out.length);
        continue;
      }
      const raw = text.slice(frags.start[f], frags.end[f]);
      if (this.bpe) yield* this.bpe.encode(raw, out, scratch, budget);
      else yield* this.spm!.encode(raw, out, scratch, budget, this.addSpacePrefix && prevSpecial);
      prevSpecial = false;
    }
    if (options.eos ?? this.data.addEos ?? false) out.push(this.eos);
    budget.check(out.length);
    return out;
  }

  /** Where control tokens may be recognised: everywhere, nowhere, or in template parts only. */
  private specialMask(input: string | readonly PromptPart[], options: EncodeOptions): boolean | Uint8Array {
    if (typeof input === 'string') return options.parseSpecial ?? false;
    if (input.every((p) => p.special)) return true;
    if (!input.some((p) => p.special)) return false;
    const mask = new Uint8Array(input.reduce((n, p) => n + p.text.length, 0));
    let at = 0;
    for (const p of input) {
      if (p.special) mask.fill(1, at, at + p.text.length);
      at += p.text.length;
    }
    return mask;
  }

  /** No token covers more characters than the longest one, so some texts overflow on sight. */
  private refuseEarly(text: string, budget: EncodeBudget): void {
    if (!Number.isFinite(budget.max) || (this.bpe?.pre.nfc ?? false)) return;
    if (this.longestToken < 0)
      this.longestToken = this.data.tokens.reduce((m, t) => Math.max(m, t.length), 1);
    budget.check(Math.ceil(text.length / this.longestToken));
  }

  /**
   * Spans of `text` that spell a control token (`<|im_start|>`…): the parts of user content a
   * chat template must keep from being read as special tokens.
   */
  controlSpans(text: string): [number, number][] {
    return this.specials.controlSpans(text);
  }

  /** Bytes of one token, cached: decoding is per token on the hot path. */
  tokenBytes(id: number): Uint8Array {
    let b = this.bytesCache[id];
    if (b === undefined) {
      b = (this.bpe ?? this.spm!).tokenBytes(id);
      this.bytesCache[id] = b;
    }
    return b;
  }

  decode(ids: readonly number[], prev = -1): string {
    const d = this.decoder(prev);
    let s = '';
    for (const id of ids) s += d.push(id);
    return s + d.flush();
  }

  /** A streaming decoder; `prev` is the token before the first one it will see. */
  decoder(prev = -1): StreamDecoder {
    return new StreamDecoder(this, prev);
  }

  /** True for tokens that end generation (EOS and the model's other end-of-turn tokens). */
  isEndOfGeneration(id: number): boolean {
    return this.eog.has(id);
  }

  /** The ids that end generation. */
  endOfGenerationIds(): number[] {
    return [...this.eog].sort((a, b) => a - b);
  }
}
