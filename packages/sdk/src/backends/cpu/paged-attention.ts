import { softcap, softmax } from '../../reference/ops.js';

/** Where the attention reads and writes: float views and the element offset of each position's K/V row. */
export interface PagedKv {
  keys: Float32Array;
  values: Float32Array;
  /** Element offset of position p's row (kvDim floats) in `keys` / `values`. */
  row: (p: number) => number;
}

/**
 * Grouped-query attention of one query over cached positions [lo, pos], scores scaled by
 * `scale` and soft-capped when `cap` > 0: the reference loop over a paged cache. The JS backend
 * runs every layer through it; the wasm one where its kernel does not apply (a window that does
 * not start on a page boundary, a soft-cap).
 */
export function pagedAttention(
  out: Float32Array, // (nHeads * headDim) at outOff
  outOff: number,
  q: Float32Array, // (nHeads * headDim) at qOff
  qOff: number,
  kv: PagedKv,
  lo: number,
  pos: number,
  shape: { nHeads: number; headDim: number; kvMul: number; scale: number; cap: number },
  att: Float32Array, // (pos + 1 - lo) scratch
): void {
  const { nHeads, headDim, kvMul, scale, cap } = shape;
  const n = pos + 1 - lo;
  for (let h = 0; h < nHeads; h++) {
    const qo = qOff + h * headDim;
    const kvh = Math.floor(h / kvMul) * headDim;
    for (let t = lo; t <= pos; t++) {
      const ko = kv.row(t) + kvh;
      let score = 0;
      for (let i = 0; i < headDim; i++) score += q[qo + i]! * kv.keys[ko + i]!;
      att[t - lo] = score * scale;
    }
    if (cap) softcap(att, cap, n);
    softmax(att, n);
    const oo = outOff + h * headDim;
    out.fill(0, oo, oo + headDim);
    for (let t = lo; t <= pos; t++) {
      const vo = kv.row(t) + kvh;
      const a = att[t - lo]!;
      for (let i = 0; i < headDim; i++) out[oo + i]! += a * kv.values[vo + i]!;
    }
  }
}
