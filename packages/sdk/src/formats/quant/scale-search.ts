/**
 * The scale searches behind llama.cpp's reference K-quantizers (ggml-quants.c make_qx_quants,
 * make_q3_quants, make_qkx2_quants), in float32 arithmetic: every product and sum is rounded
 * with Math.fround as C's float would be, so the chosen quants follow ggml's.
 */
const f = Math.fround;

/** ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is all zero. */
export const GROUP_MAX_EPS = f(1e-15);

/**
 * ggml's nearest_int: adding 1.5·2^23 in float32 rounds to an integer, halves to even (so
 * 2.5 → 2, unlike roundf). Valid for |x| ≤ 2^22.
 */
export function nearestInt(x: number): number {
  return f(x + 12582912) - 12582912;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * The value of largest magnitude among x[at..at+n), with its sign (the first one on a tie), as
 * ggml's quantizers pick it: scales are fitted so that this value lands on the grid's end.
 */
export function signedAbsMax(x: Float32Array, at: number, n: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[at + i]);
    if (ax > amax) {
      amax = ax;
      max = x[at + i];
    }
  }
  return max;
}

/**
 * Symmetric scale for `n` values into L[i] ∈ [0, 2·nmax) (stored as l + nmax), weighting each
 * value by x² and trying 18 scales around −nmax/max (make_qx_quants with rmse_type 1).
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  at: number,
  L: Uint8Array,
  lAt: number,
): number {
  const max = signedAbsMax(x, at, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0, lAt, lAt + n);
    return 0;
  }
  let iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[at + i];
    const l = clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
    L[lAt + i] = l + nmax;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i];
      const l = clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
      const w = f(v * v);
      sumlx = f(sumlx + f(f(w * v) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++)
        L[lAt + i] = nmax + clamp(nearestInt(f(iscale * x[at + i])), -nmax, nmax - 1);
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/**
 * Q3_K's symmetric scale (make_q3_quants with do_rmse): start at −nmax/max, then move single
 * quants while the x²-weighted fit improves, up to 5 passes. L[i] ∈ [0, 2·nmax).
 */
export function makeQ3Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  at: number,
  L: Int8Array,
  lAt: number,
): number {
  const max = signedAbsMax(x, at, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0, lAt, lAt + n);
    return 0;
  }
  const iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[at + i];
    const l = clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
    L[lAt + i] = l;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i];
      const w = f(v * v);
      const li = L[lAt + i];
      let slx = f(sumlx - f(f(w * v) * li));
      if (slx > 0) {
        let sl2 = f(suml2 - f(f(w * li) * li));
        const nl = clamp(nearestInt(f(f(v * sl2) / slx)), -nmax, nmax - 1);
        if (nl !== li) {
          slx = f(slx + f(f(w * v) * nl));
          sl2 = f(sl2 + f(f(w * nl) * nl));
          if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
            L[lAt + i] = nl;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < n; i++) L[lAt + i] += nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}

/**
 * Asymmetric scale and min for `n` values into L[i] ∈ [0, nmax] (make_qkx2_quants): x ≈
 * scale·L − min, trying nstep+1 scales from (rmin + nmax)/(max − min) in steps of rdelta and
 * keeping the one with the least weighted error (absolute with `useMad`, else squared).
 * Returns [scale, min] with min ≥ 0 (ggml's *the_min = −min).
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  at: number,
  weights: Float32Array,
  L: Uint8Array,
  lAt: number,
  laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): [number, number] {
  let min = x[at];
  let max = x[at];
  let sumW = weights[0];
  let sumX = f(sumW * x[at]);
  for (let i = 1; i < n; i++) {
    const v = x[at + i];
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lAt, lAt + n);
    return [0, -min];
  }
  const range = f(max - min);
  let iscale = f(nmax / range);
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[at + i];
    const l = clamp(nearestInt(f(iscale * f(v - min))), 0, nmax);
    L[lAt + i] = l;
    const d = f(f(f(scale * l) + min) - v);
    bestError = f(bestError + f(weights[i] * (useMad ? Math.abs(d) : f(d * d))));
  }
  if (nstep < 1) return [scale, -min];
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / range);
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i];
      const l = clamp(nearestInt(f(iscale * f(v - min))), 0, nmax);
      laux[i] = l;
      const w = weights[i];
      sumL = f(sumL + f(w * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
      sumXL = f(sumXL + f(f(w * l) * v));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let cur = 0;
      for (let i = 0; i < n; i++) {
        const d = f(f(f(thisScale * laux[i]) + thisMin) - x[at + i]);
        cur = f(cur + f(weights[i] * (useMad ? Math.abs(d) : f(d * d))));
      }
      if (cur < bestError) {
        for (let i = 0; i < n; i++) L[lAt + i] = laux[i];
        bestError = cur;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}
