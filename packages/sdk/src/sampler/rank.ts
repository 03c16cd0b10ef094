/** Power-of-two bands below the top probability; the last one holds everything further down. */
const BANDS = 64;
/** Keys are (probability, index) in one double: indices below 2^22, probability bits above. */
const INDEX_SPAN = 4_194_304;

/** The kept tokens in rank order (see {@link Ranker}). */
export interface Ranked {
  /** Token ids by probability descending, index ascending on ties. */
  order: Int32Array;
  /** Kept tokens in all; more than `order.length` when only a prefix was ranked. */
  count: number;
}

/**
 * Ranks the kept tokens (probability > 0 and ≥ `minKeep`) for top-k and top-p: all of them when
 * `whole`, else a prefix long enough for the filters — the tokens of the fewest power-of-two
 * bands below the `top` probability that hold `topK` tokens or `topP` of the mass, as llama.cpp's
 * top-p sorts a bounded prefix before the rest. A band never splits tied probabilities, so the
 * prefix is exactly the start of the whole order; a real model's peaked distribution then sorts a
 * few dozen tokens instead of the vocabulary. Each key packs (probability, index) into one
 * double, so the sort is the typed array's native numeric one, ~3× a comparator sort on 152k
 * tokens. One ranker per sampler: its buffers are reused token after token, and the order it
 * returns is a view of them, valid until its next call.
 */
export class Ranker {
  private keys = new Float64Array(0);
  private ids = new Int32Array(0);
  private readonly bandCount = new Int32Array(BANDS);
  private readonly bandMass = new Float64Array(BANDS);
  private readonly topBits = new Uint32Array(1);
  private readonly topF = new Float32Array(this.topBits.buffer);

  rank(
    probs: Float32Array,
    top: number,
    minKeep: number,
    topK: number,
    topP: number,
    whole: boolean,
  ): Ranked {
    const n = probs.length;
    if (n > INDEX_SPAN)
      throw new RangeError(`A vocabulary of ${n} tokens is past the sampler's ${INDEX_SPAN}`);
    if (this.keys.length < n) {
      this.keys = new Float64Array(n);
      this.ids = new Int32Array(n);
    }
    const { bandCount, bandMass } = this;
    const bits = new Uint32Array(probs.buffer, probs.byteOffset, n);
    this.topF[0] = top;
    const topE = this.topBits[0]! >>> 23;
    bandCount.fill(0);
    bandMass.fill(0);
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
    const keys = this.keys.subarray(0, included);
    let k = 0;
    for (let i = 0; i < n && k < included; i++) {
      const q = probs[i]!;
      if (q <= 0 || q < minKeep || Math.min(BANDS - 1, topE - (bits[i]! >>> 23)) > last) continue;
      keys[k++] = (0x7f800000 - bits[i]!) * INDEX_SPAN + i;
    }
    keys.sort();
    const order = this.ids.subarray(0, included);
    for (let j = 0; j < included; j++) order[j] = keys[j]! % INDEX_SPAN;
    return { order, count };
  }
}
