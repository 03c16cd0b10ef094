import { applyTokenMask, type TokenBitmask } from '../grammar/token-mask.js';
import type { ResolvedSampling } from './params.js';
import { type Ranked, Ranker } from './rank.js';
import { uniform } from './rng.js';

/** Index of the largest value; the lowest index wins ties, as on every backend. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  let bestV = x[0]!;
  for (let i = 1; i < x.length; i++) {
    if (x[i]! > bestV) {
      bestV = x[i]!;
      best = i;
    }
  }
  return best;
}

/** llama.cpp's repetition penalty: positive logits are divided, negative ones multiplied. */
export function applyRepetitionPenalty(
  logits: Float32Array,
  recent: ArrayLike<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (let i = 0; i < recent.length; i++) seen.add(recent[i]!);
  for (const t of seen) {
    if (t < 0 || t >= logits.length) continue;
    const v = logits[t]!;
    logits[t] = v > 0 ? v / penalty : v * penalty;
  }
}

/**
 * Chooses the next token: repetition penalty, then greedy or temperature → top-k → top-p →
 * min-p, then one draw of the counter-based RNG at `counter` (the token's position), so the
 * choice is reproducible from (seed, position) alone. A grammar's `mask` (a vocabulary bitset)
 * first sets every disallowed logit to -Infinity, so the filters only ever see allowed tokens.
 * Mutates `logits`.
 */
export class Sampler {
  private probs = new Float32Array(0);
  private readonly ranker = new Ranker();

  sample(
    logits: Float32Array,
    p: ResolvedSampling,
    counter: number,
    recent: ArrayLike<number> = [],
    mask?: TokenBitmask,
  ): number {
    if (mask) applyTokenMask(logits, mask);
    applyRepetitionPenalty(
      logits,
      recent.length > p.repetitionWindow ? sliceTail(recent, p.repetitionWindow) : recent,
      p.repetitionPenalty,
    );
    if (p.temperature <= 0) return argmax(logits);
    const n = logits.length;
    if (this.probs.length < n) this.probs = new Float32Array(n);
    const probs = this.probs;
    const best = argmax(logits);
    const max = logits[best]!;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp((logits[i]! - max) / p.temperature);
      probs[i] = e;
      sum += e;
    }
    for (let i = 0; i < n; i++) probs[i]! /= sum;

    const top = probs[best]!;
    const minKeep = p.minP > 0 ? top * p.minP : 0;
    const kept = probs.subarray(0, n);
    // No top-k or top-p: nothing sorts, and the draw walks the vocabulary in order, as
    // llama.cpp's dist sampler walks an unsorted array.
    if (p.topK <= 0 && p.topP >= 1) return drawInOrder(kept, minKeep, uniform(p.seed, counter));
    // Candidates by rank: first a prefix the filters should not outrun, else all of them.
    let ranked = this.ranker.rank(kept, top, minKeep, p.topK, p.topP, false);
    let keep = keepOf(ranked, probs, p);
    if (keep > ranked.order.length) {
      ranked = this.ranker.rank(kept, top, minKeep, p.topK, p.topP, true);
      keep = keepOf(ranked, probs, p);
    }
    const cand = ranked.order;
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
}

/** How many ranked candidates top-k and then top-p keep (may exceed a prefix's length). */
function keepOf({ order, count }: Ranked, probs: Float32Array, p: ResolvedSampling): number {
  const keep = p.topK > 0 ? Math.min(p.topK, count) : count;
  if (p.topP < 1) {
    let cum = 0;
    for (let i = 0; i < Math.min(keep, order.length); i++) {
      cum += probs[order[i]!]!;
      if (cum >= p.topP) return i + 1;
    }
  }
  return keep;
}

/**
 * The kept token (probability > 0 and ≥ `minKeep`) where the running mass in vocabulary order
 * first passes `u` × the kept mass; the last kept token if rounding leaves the walk short.
 */
export function drawInOrder(probs: ArrayLike<number>, minKeep: number, u: number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i]! > 0 && probs[i]! >= minKeep) total += probs[i]!;
  const r = u * total;
  let acc = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const q = probs[i]!;
    if (q <= 0 || q < minKeep) continue;
    acc += q;
    last = i;
    if (r < acc) return i;
  }
  return last;
}

function sliceTail(a: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, a.length - n); i < a.length; i++) out.push(a[i]!);
  return out;
}
