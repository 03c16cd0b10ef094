import { sampleRef } from '@edgelm/kernels';
import { describe, expect, it } from 'vitest';
import type { ResolvedSampling } from '../src/sampler/params.js';
import { Ranker } from '../src/sampler/rank.js';
import { Sampler } from '../src/sampler/sample.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Probabilities of a softmax over `n` logits: peaked, flat, or coarse (many exact ties). */
function distribution(n: number, kind: 'peaked' | 'flat' | 'ties', seed: number): Float32Array {
  const r = lcg(seed);
  const logits = Array.from({ length: n }, () => {
    const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    return kind === 'ties' ? Math.round(g * 2) / 2 : g * (kind === 'peaked' ? 8 : 0.3);
  });
  const max = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (x) => x / sum);
}

function byRank(probs: Float32Array, minKeep: number): number[] {
  const kept = [...probs.keys()].filter((i) => probs[i]! > 0 && probs[i]! >= minKeep);
  return kept.sort((a, b) => probs[b]! - probs[a]! || a - b);
}

describe('Ranker', () => {
  const kinds = ['peaked', 'flat', 'ties'] as const;
  it.each(kinds)(
    '%s: the whole order is the rank order, and a prefix is its start and enough for the filters',
    (kind) => {
      for (let c = 0; c < 12; c++) {
        const probs = distribution(3000, kind, c * 17 + kind.length);
        const top = Math.max(...probs);
        const minKeep = c % 3 === 0 ? top * 0.01 : 0;
        const want = byRank(probs, minKeep);
        const whole = new Ranker().rank(probs, top, minKeep, 0, 0.9, true);
        expect(Array.from(whole.order)).toEqual(want);
        expect(whole.count).toBe(want.length);
        for (const [topK, topP] of [
          [40, 1],
          [0, 0.9],
          [0, 0.5],
          [5, 0.95],
        ] as const) {
          const part = new Ranker().rank(probs, top, minKeep, topK, topP, false);
          expect(part.count).toBe(want.length);
          expect(Array.from(part.order)).toEqual(want.slice(0, part.order.length));
          const mass = Array.from(part.order).reduce((a, i) => a + probs[i]!, 0);
          expect((topK > 0 && part.order.length >= Math.min(topK, want.length)) || mass >= topP).toBe(true);
          // Ties are never split: the next token down is strictly less likely.
          const next = want[part.order.length];
          if (next !== undefined) expect(probs[next]!).toBeLessThan(probs[part.order.at(-1)!]!);
        }
      }
    },
  );

  it('a peaked distribution ranks a few tokens, not the vocabulary', () => {
    const probs = distribution(32_000, 'peaked', 3);
    const top = Math.max(...probs);
    expect(new Ranker().rank(probs, top, 0, 0, 0.95, false).order.length).toBeLessThan(1000);
  });
});

describe('the Sampler with top-k and top-p equals the kernels reference (a whole sort)', () => {
  it.each(['peaked', 'flat', 'ties'] as const)('%s, 5,000 tokens', (kind) => {
    const r = lcg(kind.length * 101);
    const sampler = new Sampler();
    for (let c = 0; c < 40; c++) {
      const probs = distribution(5000, kind, c + 1000 * kind.length);
      const logits = Float32Array.from(probs, (q) => Math.log(q));
      const params: ResolvedSampling = {
        temperature: [0.5, 0.8, 1.2][c % 3]!,
        topK: [0, 40, 300][c % 3]!,
        topP: [0.9, 0.99, 1, 0.5][c % 4]!,
        minP: c % 5 === 0 ? 0.05 : 0,
        repetitionPenalty: 1,
        repetitionWindow: 64,
        seed: Math.floor(r() * 2 ** 32),
      };
      if (params.topK === 0 && params.topP >= 1) params.topK = 10;
      const counter = Math.floor(r() * 1000);
      expect(sampler.sample(logits.slice(), params, counter)).toBe(
        sampleRef(logits.slice(), params, counter, []),
      );
    }
  });
});
