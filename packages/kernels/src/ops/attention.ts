import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { F16_ROUND_WGSL, f16Round } from '../quant/f16.js';
import type { KvPrecision } from './rope-kv.js';

/**
 * Causal attention over the paged KV cache for every token of a step, decode and prefill alike:
 * token t attends to positions [0, pos_t] of its sequence (the last `window` of them in a
 * sliding-window layer), which the rope-kv kernel has already
 * written (this step's tokens included). Split-K ("flash-decoding"): workgroup (chunk, kvHead, t)
 * scores `chunk` keys for all `group` query heads sharing that kv head (GQA: K and V are read
 * once per group), keeps the chunk's max and sum, and writes either the finished output (one
 * chunk) or a partial that {@link attentionMergeProgram} folds with the online-softmax rule.
 */
export interface AttentionVariant {
  [k: string]: number | string;
  /** Query heads per kv head. */
  group: number;
  wg: number;
  /** Keys per chunk (workgroup memory holds group × chunk scores). */
  chunk: number;
  /** Largest head size the workgroup q buffer holds. */
  hdMax: number;
  /**
   * `f16`: q and the cache hold f16 values (rope-kv rounded them), and each output element runs
   * llama.cpp's online softmax over the chunk's keys in order with its value accumulator rounded
   * to f16 at every key ({@link attentionF16Ref}); `f32`: float softmax.
   */
  kv: KvPrecision;
}

export const attentionUniforms = new UniformLayout({
  T: 'u32',
  nHeads: 'u32',
  nKv: 'u32',
  headDim: 'u32',
  qkvStride: 'u32',
  pageSize: 'u32',
  maxPages: 'u32',
  nChunks: 'u32',
  scale: 'f32',
  /** Keys a query sees, (pos − window, pos]; 0 = all (sliding-window layers: Gemma 3). */
  window: 'u32',
  /** s = softcap · tanh(s / softcap) on the scaled scores; 0 = none (Gemma 2). */
  softcap: 'f32',
});

/**
 * What attention reads and writes: the step's q (in its qkv rows), meta rows and page tables,
 * the KV cache, and the output or split-K partials. The flash prefill kernel binds the same, so
 * both feed one merge.
 */
export const attentionBindings: BindingSpec[] = [
  { name: 'QKV', access: 'read', type: 'array<f32>' },
  { name: 'META', access: 'read', type: 'array<u32>' },
  { name: 'PAGES', access: 'read', type: 'array<i32>' },
  { name: 'KC', access: 'read', type: 'array<f32>' },
  { name: 'VC', access: 'read', type: 'array<f32>' },
  { name: 'OUT', access: 'read_write', type: 'array<f32>' },
  { name: 'PART', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

/** The chunk a head group can afford in 16 KiB of scores. */
export function attentionChunk(preferred: number, group: number): number {
  return Math.max(16, Math.min(preferred, Math.floor(4096 / group)));
}

/** Float softmax over the chunk: max, exp and sum in workgroup memory, then o = Σ e·v per element. */
const F32_SOFTMAX = `  workgroupBarrier();
  if (lid < G) {
    var m = -3.0e38;
    for (var p = 0u; p < n; p++) { m = max(m, sc[lid * CH + p]); }
    mx[lid] = m;
  }
  workgroupBarrier();
  for (var i = lid; i < n * G; i += WG) {
    let h = i / n;
    let p = i % n;
    sc[h * CH + p] = exp(sc[h * CH + p] - mx[h]);
  }
  workgroupBarrier();
  if (lid < G) {
    var l = 0.0;
    for (var p = 0u; p < n; p++) { l += sc[lid * CH + p]; }
    sm[lid] = l;
  }
  workgroupBarrier();
  for (var i = lid; i < G * hd; i += WG) {
    let h = i / hd;
    let d = i % hd;
    var o = 0.0;
    for (var p = 0u; p < n; p++) { o += sc[h * CH + p] * VC[kvb[p] + d]; }
    let mh = mx[h];
    let sh = sm[h];
`;

/**
 * llama.cpp's flash-attention arithmetic over an f16 cache: per head, the chunk's keys in order
 * with a running max and sum ({@link f16Weights}), then per output element the accumulator
 * rounded to f16 after every rescale and every added value ({@link f16Accumulate}). Ends with
 * the (h, d) element's o, m and l as the f32 path does.
 */
const F16_SOFTMAX = `  workgroupBarrier();
  if (lid < G) {
    var m = -3.0e38;
    var l = 0.0;
    for (var p = 0u; p < n; p++) {
      ${f16Weights('sc[lid * CH + p]')}
    }
    mx[lid] = m;
    sm[lid] = l;
  }
  workgroupBarrier();
  for (var i = lid; i < G * hd; i += WG) {
    let h = i / hd;
    let d = i % hd;
    var o = 0.0;
    for (var p = 0u; p < n; p++) {
      let w = sc[h * CH + p];
      ${f16Accumulate('o', 'VC[kvb[p] + d]', 'f16r')}
    }
    let mh = mx[h];
    let sh = sm[h];
`;

/**
 * One key of llama.cpp's online softmax (ggml's CPU `flash_attn_ext_f16` with an F16 V), per
 * head: the score in `ref` against the running max `m` and sum `l` becomes the key's weight
 * code, written back to `ref`: vs = e^(s − m) ≥ 0 where the max held; −(ms + 1e-30) < 0 where it
 * grew (the accumulator is rescaled by ms = e^(m_old − s) and the value added with weight 1;
 * the 1e-30 keeps the first key's ms = 0 negative, which a −0 might not stay). Which keys raise
 * the max depends on the head alone, so the exps run once per head, not once per element.
 */
export function f16Weights(ref: string): string {
  return `let s = ${ref};
      if (s > m) {
        let ms = exp(m - s);
        m = s;
        l = l * ms + 1.0;
        ${ref} = -(ms + 1e-30);
      } else {
        let vs = exp(s - m);
        l += vs;
        ${ref} = vs;
      }`;
}

/**
 * The accumulator `o` (f16 values) takes a key's value `v` under its weight code `w`
 * ({@link f16Weights}), rounded by `round` (`f16r`/`f16r4`) after the rescale and after the add.
 */
export function f16Accumulate(o: string, v: string, round: string): string {
  return `if (w < 0.0) {
        ${o} = ${round}(${round}(${o} * -w) + ${v});
      } else {
        ${o} = ${round}(${o} + w * ${v});
      }`;
}

export function attentionProgram(v: AttentionVariant): ProgramSpec<AttentionVariant> {
  // Heads of a group are unrolled into scalars: SwiftShader spills dynamically indexed private arrays.
  const G = [...Array(v.group).keys()];
  return {
    op: 'attention',
    variant: v,
    build: () => ({
      bindings: attentionBindings,
      workgroupSize: v.wg,
      wgsl: `${attentionUniforms.wgsl()}
${bindingsWgsl(attentionBindings)}
${v.kv === 'f16' ? F16_ROUND_WGSL : ''}
const G = ${v.group}u;
const WG = ${v.wg}u;
const CH = ${v.chunk}u;
const HDMAX = ${v.hdMax}u;
var<workgroup> qs: array<f32, G * HDMAX>;
var<workgroup> sc: array<f32, G * CH>;
var<workgroup> kvb: array<u32, CH>;
var<workgroup> mx: array<f32, G>;
var<workgroup> sm: array<f32, G>;
var<workgroup> lenS: u32;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.x;
  let g = wid.y;
  let t = wid.z;
  let hd = P.headDim;
  if (lid == 0u) { lenS = META[t * 4u + 1u] + 1u; }
  let len = workgroupUniformLoad(&lenS);
  let seq = META[t * 4u + 2u];
  let lo = select(0u, len - P.window, P.window > 0u && len > P.window);
  let start = lo + c * CH;
  let n = select(0u, min(CH, len - min(start, len)), start < len);
  for (var i = lid; i < G * hd; i += WG) {
    let h = i / hd;
    qs[h * HDMAX + i % hd] = QKV[t * P.qkvStride + (g * G + h) * hd + i % hd]${v.kv === 'f16' ? '' : ' * P.scale'};
  }
  workgroupBarrier();
  for (var p = lid; p < n; p += WG) {
    let pos = start + p;
    let page = u32(PAGES[seq * P.maxPages + pos / P.pageSize]);
    let kb = ((page * P.pageSize + pos % P.pageSize) * P.nKv + g) * hd;
    kvb[p] = kb;
    ${G.map((h) => `var s${h} = 0.0;`).join(' ')}
    for (var d = 0u; d < hd; d++) {
      let k = KC[kb + d];
      ${G.map((h) => `s${h} += qs[${h}u * HDMAX + d] * k;`).join('\n      ')}
    }
    ${v.kv === 'f16' ? G.map((h) => `s${h} *= P.scale;`).join(' ') : ''}
    if (P.softcap > 0.0) {
      ${G.map((h) => `s${h} = P.softcap * tanh(clamp(s${h} / P.softcap, -15.0, 15.0));`).join('\n      ')}
    }
    ${G.map((h) => `sc[${h}u * CH + p] = s${h};`).join('\n    ')}
  }
${v.kv === 'f16' ? F16_SOFTMAX : F32_SOFTMAX}    let head = g * G + h;
    if (P.nChunks == 1u) {
      OUT[(t * P.nHeads + head) * hd + d] = o / sh;
    } else {
      let pb = ((t * P.nHeads + head) * P.nChunks + c) * (hd + 2u);
      PART[pb + d] = o;
      if (d == 0u) {
        PART[pb + hd] = mh;
        PART[pb + hd + 1u] = sh;
      }
    }
  }
}
`,
    }),
  };
}

export const attentionMergeUniforms = new UniformLayout({
  T: 'u32',
  nHeads: 'u32',
  headDim: 'u32',
  nChunks: 'u32',
});

const mergeBindings: BindingSpec[] = [
  { name: 'PART', access: 'read', type: 'array<f32>' },
  { name: 'OUT', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

/** Folds chunk partials (o, m, l) into o = Σ o_c e^(m_c − M) / Σ l_c e^(m_c − M). */
export function attentionMergeProgram(v: { wg: number }): ProgramSpec<{ wg: number }> {
  return {
    op: 'attention_merge',
    variant: v,
    build: () => ({
      bindings: mergeBindings,
      workgroupSize: v.wg,
      wgsl: `${attentionMergeUniforms.wgsl()}
${bindingsWgsl(mergeBindings)}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${v.wg}u;
  let hd = P.headDim;
  if (i >= P.T * P.nHeads * hd) { return; }
  let th = i / hd;
  let d = i % hd;
  let stride = hd + 2u;
  var m = -3.0e38;
  for (var c = 0u; c < P.nChunks; c++) { m = max(m, PART[(th * P.nChunks + c) * stride + hd]); }
  var l = 0.0;
  var o = 0.0;
  for (var c = 0u; c < P.nChunks; c++) {
    let pb = (th * P.nChunks + c) * stride;
    let w = exp(PART[pb + hd] - m);
    l += PART[pb + hd + 1u] * w;
    o += PART[pb + d] * w;
  }
  OUT[i] = o / l;
}
`,
    }),
  };
}

/** q[qo..qo+hd) · k[ko..ko+hd) in f64, each element through `r` first (f16 rounding, or none). */
function dot(
  q: Float32Array,
  qo: number,
  k: Float32Array,
  ko: number,
  hd: number,
  r = (x: number) => x,
): number {
  let s = 0;
  for (let d = 0; d < hd; d++) s += r(q[qo + d]!) * r(k[ko + d]!);
  return s;
}

/**
 * CPU reference for one query token: q [nHeads·hd], keys and values [len, nKv·hd] in position
 * order; returns [nHeads·hd].
 */
export function attentionRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  len: number,
  nHeads: number,
  nKv: number,
  hd: number,
): Float32Array {
  const out = new Float32Array(nHeads * hd);
  const scores = new Float64Array(len);
  const group = nHeads / nKv;
  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    let max = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < len; p++) {
      scores[p] = dot(q, h * hd, k, (p * nKv + g) * hd, hd) / Math.sqrt(hd);
      max = Math.max(max, scores[p]!);
    }
    let sum = 0;
    for (let p = 0; p < len; p++) {
      scores[p] = Math.exp(scores[p]! - max);
      sum += scores[p]!;
    }
    for (let d = 0; d < hd; d++) {
      let o = 0;
      for (let p = 0; p < len; p++) o += scores[p]! * v[(p * nKv + g) * hd + d]!;
      out[h * hd + d] = o / sum;
    }
  }
  return out;
}

/**
 * CPU reference of the `f16` variant for one query token (llama.cpp's CPU `flash_attn_ext_f16`
 * over an f16 cache): q, k and v as f16 values, one pass over the positions in order with a
 * running max and sum, the value accumulator rounded to f16 after every rescale and add,
 * divided by the sum at the end. Same shapes as {@link attentionRef}.
 */
export function attentionF16Ref(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  len: number,
  nHeads: number,
  nKv: number,
  hd: number,
): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(nHeads * hd);
  const group = nHeads / nKv;
  const scale = f(1 / Math.sqrt(hd));
  const acc = new Float32Array(hd);
  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    acc.fill(0);
    let m = Number.NEGATIVE_INFINITY;
    let l = 0;
    for (let p = 0; p < len; p++) {
      const s = f(f(dot(q, h * hd, k, (p * nKv + g) * hd, hd, f16Round)) * scale);
      let ms = 1;
      let vs = 1;
      if (s > m) {
        ms = f(Math.exp(m - s));
        m = s;
        for (let d = 0; d < hd; d++) acc[d] = f16Round(acc[d]! * ms);
      } else vs = f(Math.exp(s - m));
      for (let d = 0; d < hd; d++) acc[d] = f16Round(acc[d]! + vs * f16Round(v[(p * nKv + g) * hd + d]!));
      l = f(l * ms + vs);
    }
    for (let d = 0; d < hd; d++) out[h * hd + d] = acc[d]! / l;
  }
  return out;
}
