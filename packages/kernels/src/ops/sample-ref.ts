import { uniform } from './rng.js';

/** Parameters of {@link sampleRef}, as the SDK's resolved sampling parameters. */
export interface SampleRefParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  repetitionWindow: number;
  seed: number;
}

/**
 * The CPU reference of `sample.ts`: the SDK `Sampler`'s steps (packages/sdk/src/sampler/sample.ts), which the
 * SDK's tests hold this kernel and this function to. Mutates `logits`.
 */
export function sampleRef(
  logits: Float32Array,
  p: SampleRefParams,
  counter: number,
  recent: ArrayLike<number>,
): number {
  const tail = Array.from(recent).slice(Math.max(0, recent.length - p.repetitionWindow));
  if (p.repetitionPenalty !== 1) {
    for (const t of new Set(tail)) {
      if (t < 0 || t >= logits.length) continue;
      const v = logits[t]!;
      logits[t] = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty;
    }
  }
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (p.temperature <= 0) return best;
  const probs = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i]! - logits[best]!) / p.temperature);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  const minKeep = p.minP > 0 ? probs[best]! * p.minP : 0;
  // No sorting filter: the draw walks the vocabulary in order (llama.cpp's dist sampler).
  if (p.topK <= 0 && p.topP >= 1) {
    let total = 0;
    for (const q of probs) if (q > 0 && q >= minKeep) total += q;
    const r = uniform(p.seed, counter) * total;
    let acc = 0;
    let last = -1;
    for (let i = 0; i < probs.length; i++) {
      if (probs[i]! <= 0 || probs[i]! < minKeep) continue;
      acc += probs[i]!;
      last = i;
      if (r < acc) return i;
    }
    return last;
  }
  const cand: number[] = [];
  for (let i = 0; i < probs.length; i++) if (probs[i]! >= minKeep && probs[i]! > 0) cand.push(i);
  cand.sort((a, b) => probs[b]! - probs[a]! || a - b);
  let keep = p.topK > 0 ? Math.min(p.topK, cand.length) : cand.length;
  if (p.topP < 1) {
    let cum = 0;
    for (let i = 0; i < keep; i++) {
      cum += probs[cand[i]!]!;
      if (cum >= p.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[cand[i]!]!;
  const r = uniform(p.seed, counter) * total;
  let acc = 0;
  for (let i = 0; i < keep; i++) {
    acc += probs[cand[i]!]!;
    if (r < acc) return cand[i]!;
  }
  return cand[keep - 1]!;
}
