import type { ModelConfig } from '../model/config.js';

/** Names of the backends; 'auto' is resolved by the engine to one of the others. */
export type BackendName = 'webgpu' | 'cpu' | 'onnx' | 'reference';

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
  /** Frees device memory; the backend is unusable afterwards. */
  dispose(): void;
}
