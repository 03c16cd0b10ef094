// The attention stage of the fused decoder layer (decoder-layer.ts), as WGSL statements in its
// token loop: the names it uses (A via ald/ast/x4, slots, hmax, ACT, KC, VC, ROPE, P, pos,
// seq, len, lid) are that kernel's.

import { f16Accumulate, f16Weights } from './attention.js';
import type { KvPrecision } from './rope-kv.js';

/**
 * RoPE, the KV write and attention of token t, into A[AO..] (`pair`: the rotated element pair).
 * With an `f16` cache q, k and v are rounded to f16 (`f16r`) and the values are summed as
 * llama.cpp's flash attention does (see `values`); else float softmax.
 */
export const ropeAttn = (pair: string, kv: KvPrecision) => {
  const r = kv === 'f16' ? 'f16r' : '';
  return `    // RoPE on q and k (angles from the f64 table), k and v into this position's page slot.
    let own = slot(seq, pos);
    for (var i = lid; i < (NH + 2u * NKV) * HALF; i += WG) {
      let head = i / HALF;
      let k = i % HALF;
      ${pair}
      let b = QO + head * HD;
      if (head >= NH + NKV) {
        let o = own + (head - NH - NKV) * HD;
        VC[o + i0] = ${r}(ald(b + i0));
        VC[o + i1] = ${r}(ald(b + i1));
      } else {
        let cs = ROPE[pos * HALF + k];
        let x0 = ald(b + i0);
        let x1 = ald(b + i1);
        let y0 = x0 * cs.x - x1 * cs.y;
        let y1 = x0 * cs.y + x1 * cs.x;
        if (head < NH) {
          ast(b + i0, ${r}(y0));
          ast(b + i1, ${r}(y1));
        } else {
          let o = own + (head - NH) * HD;
          KC[o + i0] = ${r}(y0);
          KC[o + i1] = ${r}(y1);
        }
      }
    }
    sync();

    // Scores of every (head, key), then per-head max, exp, and the weighted sum of values.
    for (var p = lid; p < len; p += WG) { slots[p] = slot(seq, p); }
    workgroupBarrier();
    for (var i = lid; i < NH * len; i += WG) {
      let h = i / len;
      let p = i % len;
      let kb = slots[p] + (h / GRP) * HD;
      var s = 0.0;
      for (var d = 0u; d < HD; d += 4u) {
        s += dot(x4((QO + h * HD + d) / 4u), vec4f(KC[kb + d], KC[kb + d + 1u], KC[kb + d + 2u], KC[kb + d + 3u]));
      }
      ACT[P.sco + h * CTX + p] = s * P.scale;
    }
    sync();
${values(kv)}`;
};

/**
 * The weighted sum of values per head and 4 elements, o / l into A[AO..]. Float: per-head max,
 * exp in place, then o = Σ e·v. `f16`: llama.cpp's flash attention over an f16 cache, one pass
 * per head turning scores into weight codes in place ({@link f16Weights}), then the f16
 * accumulator per element ({@link f16Accumulate}).
 */
function values(kv: KvPrecision): string {
  const v = 'vec4f(VC[vb], VC[vb + 1u], VC[vb + 2u], VC[vb + 3u])';
  const f16 = kv === 'f16';
  const weights = f16
    ? `    for (var h = lid; h < NH; h += WG) {
      var m = -3.0e38;
      var l = 0.0;
      for (var p = 0u; p < len; p++) {
        ${f16Weights('ACT[P.sco + h * CTX + p]')}
      }
      hmax[h] = l;
    }
    sync();
`
    : `    for (var h = lid; h < NH; h += WG) {
      var m = -3.0e38;
      for (var p = 0u; p < len; p++) { m = max(m, ACT[P.sco + h * CTX + p]); }
      hmax[h] = m;
    }
    sync();
    for (var i = lid; i < NH * len; i += WG) {
      let h = i / len;
      let o = P.sco + h * CTX + i % len;
      ACT[o] = exp(ACT[o] - hmax[h]);
    }
    sync();
`;
  return `${weights}    for (var i = lid; i < NH * HD / 4u; i += WG) {
      let h = i / (HD / 4u);
      let vo = (h / GRP) * HD + 4u * (i % (HD / 4u));
      var o = vec4f(0.0);
      var l = 0.0;
      for (var p = 0u; p < len; p++) {
        let w = ACT[P.sco + h * CTX + p];
        let vb = slots[p] + vo;
        ${
          f16
            ? f16Accumulate('o', v, 'f16r4')
            : `o += w * ${v};
        l += w;`
        }
      }
      ${f16 ? 'l = hmax[h];' : ''}
      let a = AO + 4u * i;
      ast(a, o.x / l);
      ast(a + 1u, o.y / l);
      ast(a + 2u, o.z / l);
      ast(a + 3u, o.w / l);
    }
    sync();

`;
}
