import type { ModelConfig } from '../model/config.js';
import type { ResolvedSampling } from '../sampler/params.js';

/**
 * Names of the backends an engine can run on; `'auto'` (where accepted) is resolved by the engine
 * to one of them. The plain CPU reference (`@edgelm/sdk/reference`) is a judge for tests, not an
 * engine backend.
 */
export type BackendName = 'webgpu' | 'cpu' | 'onnx';

/**
 * One sequence's share of a forward step. K/V for positions [startPos, startPos + tokens.length)
 * are written into the sequence's pages; earlier positions are read from them.
 */
export interface SequenceStep {
  tokens: ArrayLike<number>;
  /** Position of tokens[0]. */
  startPos: number;
  /**
   * Physical KV page of each logical page: position p lives in page `pages[floor(p / pageSize)]`
   * at slot `p % pageSize`. Must cover startPos + tokens.length positions.
   */
  pages: Int32Array;
}

/** The logits of the last token of each sequence in the step. */
export type StepLogits = Float32Array[];

/** How one sequence's next token is chosen by {@link Backend.forwardSample}. */
export interface SampleRequest {
  params: ResolvedSampling;
  /** RNG counter of this draw (the position of the token being chosen). */
  counter: number;
  /** Recent tokens, for the repetition penalty. */
  recent?: ArrayLike<number>;
}

/**
 * What every backend implements: a paged-KV forward pass over one or more sequences.
 * The engine owns the page allocator and prefix cache; the backend owns the page storage.
 */
export interface Backend {
  readonly name: BackendName;
  readonly config: ModelConfig;
  /** Tokens per KV page. */
  readonly pageSize: number;
  /** Physical pages the backend allocated. */
  readonly pageCount: number;
  /** Bytes of one page across all layers (K and V). */
  readonly pageBytes: number;
  /** Runs the model; resolves to the last-position logits of each sequence (same order). */
  forward(steps: SequenceStep[]): Promise<StepLogits>;
  /**
   * Optional fast path: runs the model and chooses each sequence's next token on the device,
   * reading back only the token ids (4 bytes per sequence instead of the vocabulary). The
   * engine calls it when present; choices equal those of `Sampler` on `forward`'s logits.
   *
   * @example
   * ```ts
   * const [next] = await backend.forwardSample!([step], [{ params: resolveSampling({}), counter: pos }]);
   * ```
   */
  forwardSample?(steps: SequenceStep[], sampling: SampleRequest[]): Promise<Int32Array>;
  /**
   * Optional: `n` decode steps of every sequence without a round trip per token. Each step
   * carries one token per sequence (its last, not yet computed); the token chosen at step k is
   * the input of step k + 1 at the next position, so K/V is written for positions
   * `[startPos, startPos + n)` and `pages` must cover them. `sampling[i]` is the first draw's;
   * later draws use the next counters and see the tokens generated before them in their
   * repetition window. Returns `n` tokens per sequence, sequence after sequence (`out[i * n + k]`),
   * equal to `n` chained `forwardSample` calls. The caller decides what to keep (EOS, stop
   * strings): K/V past the tokens it keeps is simply overwritten later.
   *
   * @example
   * ```ts
   * const toks = await backend.decode!([{ tokens: [last], startPos: pos, pages }],
   *   [{ params, counter: pos + 1, recent: context }], 8); // 8 tokens, one submission
   * ```
   */
  decode?(steps: SequenceStep[], sampling: SampleRequest[], n: number): Promise<Int32Array>;
  /** Frees device memory; the backend is unusable afterwards. */
  dispose(): void;
}
