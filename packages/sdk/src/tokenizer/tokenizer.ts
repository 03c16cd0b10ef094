import { EdgeLMError } from '../errors.js';
import { Gpt2Tokenizer } from './gpt2.js';
import { SpmTokenizer } from './spm.js';
import { StreamDecoder } from './stream-decoder.js';
import type { TokenizerData } from './tokenizer-data.js';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend BOS (default: what the model asks for). */
  bos?: boolean;
  eos?: boolean;
}

/**
 * Text ⇄ token ids for a model's vocabulary.
 *
 * @example
 * ```ts
 * const tok = new Tokenizer(model.tokenizer);
 * const ids = tok.encode('Once upon a time');
 * const text = tok.decode(ids);
 * ```
 */
export class Tokenizer {
  readonly bos: number;
  readonly eos: number;
  readonly addSpacePrefix: boolean;
  readonly vocabSize: number;
  private readonly impl: { encode(text: string): number[]; tokenBytes(id: number): Uint8Array };
  private readonly bytesCache: (Uint8Array | undefined)[];
  private readonly eog: Set<number>;

  constructor(readonly data: TokenizerData) {
    if (data.tokens.length === 0) throw new EdgeLMError('CORRUPT', 'The tokenizer has no tokens');
    this.bos = data.bos;
    this.eos = data.eos;
    this.addSpacePrefix = data.model === 'llama' && data.addSpacePrefix;
    this.vocabSize = data.tokens.length;
    this.impl = data.model === 'gpt2' ? new Gpt2Tokenizer(data) : new SpmTokenizer(data);
    this.bytesCache = new Array(data.tokens.length);
    this.eog = new Set([data.eos, ...(data.eogIds ?? [])]);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.impl.encode(text);
    if (options.bos ?? this.data.addBos) ids.unshift(this.bos);
    if (options.eos) ids.push(this.eos);
    return ids;
  }

  /** Bytes of one token, cached: decoding is per token on the hot path. */
  tokenBytes(id: number): Uint8Array {
    let b = this.bytesCache[id];
    if (b === undefined) {
      b = this.impl.tokenBytes(id);
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
}
