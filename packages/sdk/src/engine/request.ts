import type { FinishReason, GenerateChunk, GenerateResult } from '../api/types.js';
import type { GrammarConstraint } from '../grammar/constraint.js';
import type { ResolvedSampling } from '../sampler/params.js';
import { Sampler } from '../sampler/sample.js';
import type { StreamDecoder } from '../tokenizer/stream-decoder.js';
import { AsyncQueue } from './async-queue.js';
import type { PrefixMatch } from './kv/prefix-cache.js';
import { StopStringFilter } from './stop-strings.js';

/** A generation request as the scheduler tracks it, from admission to its result. */
export class Request {
  readonly chunks = new AsyncQueue<GenerateChunk>();
  /** Prompt then generated tokens. */
  readonly tokens: number[];
  readonly promptTokens: number;
  /** Tokens whose K/V is in the sequence's pages. */
  computed = 0;
  /** Physical KV pages, in position order (shared prefix pages first). */
  pages: number[] = [];
  prefix: PrefixMatch | null = null;
  /** `pages` as the backend takes them; rebuilt only when a page is added, not per token. */
  pageTable = new Int32Array(0);
  /** The one-token input of a decode step, reused every step. */
  readonly lastToken = [0];
  prefixTokensReused = 0;
  generated: number[] = [];
  text = '';
  finish: FinishReason | null = null;
  readonly sampler = new Sampler();
  readonly stop: StopStringFilter;
  readonly startedAt = performance.now();
  firstTokenAt = 0;
  prefillDoneAt = 0;
  /** Set when the request cannot be admitted for lack of pages; it waits its turn. */
  blocked = false;

  constructor(
    readonly id: string,
    prompt: readonly number[],
    readonly sampling: ResolvedSampling,
    readonly maxTokens: number,
    stops: readonly string[],
    readonly decoder: StreamDecoder,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (r: GenerateResult) => void,
    readonly reject: (e: unknown) => void,
    /** The grammar the output must match; its mask is applied before every sampled token. */
    readonly grammar: GrammarConstraint | null = null,
  ) {
    this.tokens = [...prompt];
    this.promptTokens = prompt.length;
    this.stop = new StopStringFilter(stops);
  }

  get inPrefill(): boolean {
    return this.computed < this.tokens.length - 1 || this.generated.length === 0;
  }

  /** Tokens that may still be generated (the budget a grammar plans its closing within). */
  tokensLeft(contextLength: number): number {
    return Math.min(this.maxTokens - this.generated.length, contextLength - this.tokens.length);
  }

  get aborted(): boolean {
    return this.signal?.aborted === true;
  }
}
