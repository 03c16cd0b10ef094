/** Power-of-two bands below the top probability; the last one holds everything further down. */
const BANDS = 64;
/** Keys are (probability, index) in one double: indices below 2^22, probability bits above. */
const INDEX_SPAN = 4_194_304;

/** The kept tokens in rank order (see {@link rankKept}). */
export interface Ranked {
  /** Token ids by probability descending, index ascending on ties. */
  order: Int32Array;
  /** Kept tokens in all; more than `order.length` when only a prefix was ranked. */
  count: number;
}

/**
 * The kept tokens (probability > 0 and ≥ `minKeep`) in rank order: all of them when `whole`,
 * else a prefix long enough for the filters — the tokens of the fewest power-of-two bands below
 * the `top` probability that hold `topK` tokens or `topP` of the mass, as llama.cpp's top-p
 * sorts a bounded prefix before the rest. A band never splits tied probabilities, so the prefix
 * is exactly the start of the whole order; a real model's peaked distribution then sorts a few
 * dozen tokens instead of the vocabulary. Each key packs (probability, index) into one double,
 * so the sort is the typed array's native numeric one, ~3× a comparator sort on 152k tokens.
 */
export function rankKept(
  probs: Float32Array,
  top: number,
  minKeep: number,
  topK: number,
  topP: number,
  whole: boolean,
): Ranked {
  const n = probs.length;
  if (n > INDEX_SPAN) throw new RangeError(`A vocabulary of ${n} tokens is past the sampler's ${INDEX_SPAN}`);
  const bits = new Uint32Array(probs.buffer, probs.byteOffset, n);
  const topE = new Uint32Array(Float32Array.of(top).buffer)[0]! >>> 23;
  const bandCount = new Int32Array(BANDS);
  const bandMass = new Float64Array(BANDS);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const q = probs[i]!;
    if (q <= 0 || q < minKeep) continue;
    const b = Math.min(BANDS - 1, topE - (bits[i]! >>> 23));
    bandCount[b]!++;
    bandMass[b]! += q;
    count++;
  }
  let last = BANDS - 1;
  let included = count;
  if (!whole) {
    let c = 0;
    let m = 0;
    for (let b = 0; b < BANDS; b++) {
      c += bandCount[b]!;
      m += bandMass[b]!;
      if ((topK > 0 && c >= topK) || (topP < 1 && m >= topP)) {
        last = b;
        included = c;
        break;
      }
    }
  }
  const keys = new Float64Array(included);
  let k = 0;
  for (let i = 0; i < n && k < included; i++) {
    const q = probs[i]!;
    if (q <= 0 || q < minKeep || Math.min(BANDS - 1, topE - (bits[i]! >>> 23)) > last) continue;
    keys[k++] = (0x7f800000 - bits[i]!) * INDEX_SPAN + i;
  }
  keys.sort();
  const order = new Int32Array(included);
  for (let j = 0; j < included; j++) order[j] = keys[j]! % INDEX_SPAN;
  return { order, count };
}
