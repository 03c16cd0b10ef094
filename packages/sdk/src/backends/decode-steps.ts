import type { Backend, SampleRequest, SequenceStep } from './backend.js';

/**
 * The requests of the next decode steps after each sequence produced `rows[i]`: its last token
 * is the next input, positions and RNG counters move on, the tokens join the penalty's window.
 */
export function advanceRequests(
  steps: readonly SequenceStep[],
  sampling: readonly SampleRequest[],
  rows: readonly ArrayLike<number>[],
): [SequenceStep[], SampleRequest[]] {
  return [
    steps.map((s, i) => ({
      tokens: [rows[i]![rows[i]!.length - 1]!],
      startPos: s.startPos + rows[i]!.length,
      pages: s.pages,
    })),
    sampling.map((s, i) => ({
      params: s.params,
      counter: s.counter + rows[i]!.length,
      recent: [...Array.from(s.recent ?? []), ...Array.from(rows[i]!)],
    })),
  ];
}

/**
 * {@link Backend.decode} as `n` calls of `forwardSample`, one round trip per token: for backends
 * (or sampling settings) without a device-side loop.
 */
export async function decodeByStep(
  backend: Required<Pick<Backend, 'forwardSample'>>,
  steps: SequenceStep[],
  sampling: SampleRequest[],
  n: number,
): Promise<Int32Array> {
  const out = new Int32Array(steps.length * n);
  let st = steps;
  let sa = sampling;
  for (let j = 0; j < n; j++) {
    const next = await backend.forwardSample(st, sa);
    for (let i = 0; i < st.length; i++) out[i * n + j] = next[i]!;
    [st, sa] = advanceRequests(
      st,
      sa,
      Array.from(next, (t) => [t]),
    );
  }
  return out;
}
