/**
 * A counter-based RNG: the n-th draw of a seed is a pure function of (seed, n), so the CPU
 * sampler and the WGSL sampler (which repeats these exact u32 steps) draw the same numbers,
 * and a request resumed from a cached prefix draws what it would have drawn.
 */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in [0, 1) with 24 bits, exactly representable in f32 on every backend. */
export function uniform(seed: number, counter: number): number {
  return (hash32((seed ^ hash32((counter + 0x9e3779b9) >>> 0)) >>> 0) >>> 8) / 16777216;
}
