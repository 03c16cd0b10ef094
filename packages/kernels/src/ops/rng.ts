/**
 * A copy of the SDK's counter-based RNG (`packages/sdk/src/sampler/rng.ts`), kept here because
 * the kernels package must not depend on the SDK; an SDK test checks that this TypeScript, the
 * WGSL below and the SDK's version draw identical numbers.
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

export function uniform(seed: number, counter: number): number {
  return (hash32((seed ^ hash32((counter + 0x9e3779b9) >>> 0)) >>> 0) >>> 8) / 16777216;
}

/** The same steps in WGSL: u32 arithmetic wraps exactly like `Math.imul` and `>>> 0`. */
export const rngWgsl = `fn rng_hash(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}
fn rng_uniform(seed: u32, counter: u32) -> f32 {
  return f32(rng_hash(seed ^ rng_hash(counter + 0x9e3779b9u)) >> 8u) / 16777216.0;
}
`;
