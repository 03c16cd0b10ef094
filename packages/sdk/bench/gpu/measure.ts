// What one (model, type, runtime) row measures, through the engine's public `generate` the way
// an app calls it: decode rate after a short prompt, and TTFT / prefill rate of a long prompt.
// Shared by the Node runner and the Chromium page. Every run's prompt starts differently, so
// neither the prefix cache nor the response cache can answer it.

import type { Engine } from '../../src/api/engine.js';

export interface MeasureSpec {
  /** Tokens decoded per decode run. */
  decodeTokens: number;
  /** Prompt length before the decode runs. */
  shortPrompt: number;
  /** Prompt length of the TTFT runs. */
  ttftPrompt: number;
  decodeRuns: number;
  ttftRuns: number;
  vocab: number;
}

export interface MeasureResult {
  decodeTokS: number[];
  /** Tokens each decode run produced (fewer than asked: it stopped early). */
  decodeCounts: number[];
  ttftMs: number[];
  prefillTokS: number[];
  /** Prompt tokens served from the prefix cache over all runs (must be 0). */
  reused: number;
}

/** Distinct prompts: run `run`'s tokens, away from the specials and byte tokens. */
export function benchPrompt(n: number, run: number, vocab: number): number[] {
  const span = Math.min(vocab, 30000) - 259;
  return Array.from({ length: n }, (_, i) => 259 + ((run * 7919 + i * 37) % span));
}

export async function measureEngine(engine: Engine, s: MeasureSpec): Promise<MeasureResult> {
  const out: MeasureResult = { decodeTokS: [], decodeCounts: [], ttftMs: [], prefillTokS: [], reused: 0 };
  // Warm-up: first dispatch of every pipeline, allocations.
  await engine.generate(benchPrompt(8, 999, s.vocab), { maxTokens: 4, cache: false }).result;
  for (let r = 0; r < s.decodeRuns; r++) {
    const res = await engine.generate(benchPrompt(s.shortPrompt, r, s.vocab), {
      maxTokens: s.decodeTokens,
      cache: false,
    }).result;
    out.decodeTokS.push(res.timings.decodeTokensPerSecond);
    out.decodeCounts.push(res.usage.completionTokens);
    out.reused += res.prefixTokensReused;
  }
  for (let r = 0; r < s.ttftRuns; r++) {
    const res = await engine.generate(benchPrompt(s.ttftPrompt, 100 + r, s.vocab), {
      maxTokens: 1,
      cache: false,
    }).result;
    out.ttftMs.push(res.timings.ttftMs);
    out.prefillTokS.push(res.timings.prefillTokensPerSecond);
    out.reused += res.prefixTokensReused;
  }
  return out;
}
