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
  /**
   * Seed of the counter-based RNG: the same seed gives the same tokens on every run and backend.
   * Without one, each request draws a fresh seed, so sampled answers vary as in OpenAI's API
   * and llama.cpp.
   */
  seed?: number;
}

export type ResolvedSampling = Required<SamplingParams>;

/** A fresh 32-bit seed: from the platform's CSPRNG where there is one (every browser, Node ≥ 19). */
export function randomSeed(): number {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0]!;
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

/** Fills the defaults; an unseeded request gets a seed of its own (see {@link randomSeed}). */
export function resolveSampling(p: SamplingParams = {}): ResolvedSampling {
  return {
    temperature: p.temperature ?? 0,
    topK: p.topK ?? 0,
    topP: p.topP ?? 1,
    minP: p.minP ?? 0,
    repetitionPenalty: p.repetitionPenalty ?? 1,
    repetitionWindow: p.repetitionWindow ?? 64,
    seed: (p.seed ?? randomSeed()) >>> 0,
  };
}

/** True when the output depends only on the input (greedy, or sampled with a fixed seed). */
export function isDeterministic(p: SamplingParams): boolean {
  return (p.temperature ?? 0) <= 0 || p.seed !== undefined;
}
