/** How the next token is chosen. Defaults: greedy. */
export interface SamplingParams {
  /** 0 (default) means greedy argmax. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 disables. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 disables. */
  topP?: number;
  /** Drop tokens less likely than minP × the top probability; 0 disables. */
  minP?: number;
  /** >1 discourages tokens already in the context (llama.cpp/CTRL style); 1 disables. */
  repetitionPenalty?: number;
  /** How many recent tokens the repetition penalty looks at (default 64). */
  repetitionWindow?: number;
  /** Seed of the counter-based RNG; the same seed gives the same tokens on every run and backend. */
  seed?: number;
}

export type ResolvedSampling = Required<SamplingParams>;

export function resolveSampling(p: SamplingParams = {}): ResolvedSampling {
  return {
    temperature: p.temperature ?? 0,
    topK: p.topK ?? 0,
    topP: p.topP ?? 1,
    minP: p.minP ?? 0,
    repetitionPenalty: p.repetitionPenalty ?? 1,
    repetitionWindow: p.repetitionWindow ?? 64,
    seed: (p.seed ?? 0x5eed) >>> 0,
  };
}

/** True when the output depends only on the input (greedy, or sampled with a fixed seed). */
export function isDeterministic(p: SamplingParams): boolean {
  return (p.temperature ?? 0) <= 0 || p.seed !== undefined;
}
