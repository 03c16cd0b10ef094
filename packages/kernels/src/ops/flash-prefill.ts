import { bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { attentionBindings } from './attention.js';

/**
 * Tiled flash-attention prefill over the paged KV cache. Workgroup (query tile, kv head, key
 * split) holds `tq` tokens × `group` query heads (the heads sharing one kv head, so each K/V
 * tile is loaded once for all of them) in workgroup memory, walks the split's keys in tiles of
 * `tk` loaded from the pages, and keeps per row a running max, sum and output accumulator
 * (online softmax). Against {@link attentionProgram} over a grid of tokens, K and V are read
 * once per tile of `tq` tokens instead of once per token.
 *
 * Tokens of a tile may belong to several sequences (a step batches them): the tile makes one
 * pass per sequence, each over the keys its tokens see, with the other rows masked. Masks and
 * features are the decode kernel's: causal by position, the last `window` keys, scale, soft-cap.
 * Splits are `chunk` keys of absolute position; with more than one, the partials (o, m, l) go
 * to PART in {@link attentionMergeProgram}'s layout and that kernel folds them.
 */
export interface FlashPrefillVariant {
  [k: string]: number;
  /** Query heads per kv head. */
  group: number;
  /** Tokens per query tile. */
  tq: number;
  /** Keys per K/V tile. */
  tk: number;
  /** Largest head size the tiles hold (a multiple of 8). */
  hdMax: number;
  wg: number;
}

export const flashPrefillUniforms = new UniformLayout({
  T: 'u32',
  nHeads: 'u32',
  nKv: 'u32',
  headDim: 'u32',
  qkvStride: 'u32',
  pageSize: 'u32',
  maxPages: 'u32',
  nChunks: 'u32',
  /** Keys per split (the decode kernel's chunk, so the merge and its partials are shared). */
  chunk: 'u32',
  scale: 'f32',
  window: 'u32',
  softcap: 'f32',
});

/** Output values each invocation accumulates in registers. */
function slots(v: FlashPrefillVariant): number {
  return Math.ceil((v.tq * v.group * v.hdMax) / v.wg);
}

/** Workgroup memory of a variant, in bytes. */
export function flashPrefillBytes(v: FlashPrefillVariant): number {
  const rows = v.tq * v.group;
  const qs = v.hdMax + 1;
  return 4 * (rows * qs + v.tk * qs + rows * (v.tk + 1) + 3 * rows + 4 * v.tq + 4);
}

/** Most accumulators per invocation before the registers spill. */
const MAX_SLOTS = 64;

/**
 * The variant for a model on a device: the profile's tile, with fewer query tokens per tile
 * until it fits `limitBytes` of workgroup memory and the register budget; null when not even
 * one token's heads fit (the caller keeps the split-K kernel).
 *
 * @example
 * ```ts
 * const v = flashPrefillVariant({ tq: 16, tk: 16, wg: 128 }, 4, 64, device.limits.maxComputeWorkgroupStorageSize);
 * if (v) await cache.prepare(flashPrefillProgram(v));
 * ```
 */
export function flashPrefillVariant(
  tile: { tq: number; tk: number; wg: number },
  group: number,
  headDim: number,
  limitBytes: number,
): FlashPrefillVariant | null {
  const hdMax = Math.ceil(headDim / 8) * 8;
  for (let tq = tile.tq; tq >= 1; tq--) {
    const v = { group, tq, tk: tile.tk, hdMax, wg: tile.wg };
    if (flashPrefillBytes(v) <= limitBytes && slots(v) <= MAX_SLOTS) return v;
  }
  return null;
}

export function flashPrefillGrid(v: FlashPrefillVariant, T: number, nKv: number, nChunks: number) {
  return [Math.ceil(T / v.tq), nKv, nChunks] as const;
}

export function flashPrefillProgram(v: FlashPrefillVariant): ProgramSpec<FlashPrefillVariant> {
  // Accumulators are unrolled into scalars: dynamically indexed private arrays spill on some
  // compilers (SwiftShader's always).
  const S = [...Array(slots(v)).keys()];
  return {
    op: 'flash_prefill',
    variant: v,
    build: () => ({
      bindings: attentionBindings,
      workgroupSize: v.wg,
      wgsl: `${flashPrefillUniforms.wgsl()}
${bindingsWgsl(attentionBindings)}
const G = ${v.group}u;
const TQ = ${v.tq}u;
const TK = ${v.tk}u;
const HDMAX = ${v.hdMax}u;
const WG = ${v.wg}u;
const R = TQ * G;
const NEG = -3.0e38;
// Rows padded by one word: the score loop reads qs and kv, and the softmax loop sc, at a row
// stride across lanes, which unpadded (a power of two) lands every lane on one memory bank.
const QS = HDMAX + 1u;
const SS = TK + 1u;
var<workgroup> qs: array<f32, R * QS>;
var<workgroup> kv: array<f32, TK * QS>;
var<workgroup> sc: array<f32, R * SS>;
var<workgroup> mS: array<f32, R>;
var<workgroup> lS: array<f32, R>;
var<workgroup> aS: array<f32, R>;
var<workgroup> tPos: array<u32, TQ>;
var<workgroup> tLo: array<u32, TQ>;
var<workgroup> tSeq: array<u32, TQ>;
// 0: waiting for its sequence's pass, 1: in the current pass, 2: done (or past T).
var<workgroup> tState: array<u32, TQ>;
// The current pass: sequence, first key, key end, 1 while there is one.
var<workgroup> passS: vec4u;

// K or V rows [k0, kEnd) of the pass's sequence into kv (zeros past kEnd and past the head size).
fn loadTile(lid: u32, which: u32, seq: u32, k0: u32, kEnd: u32, g: u32) {
  let hd = P.headDim;
  for (var i = lid; i < TK * HDMAX; i += WG) {
    let p = k0 + i / HDMAX;
    let d = i % HDMAX;
    var x = 0.0;
    if (p < kEnd && d < hd) {
      let page = u32(PAGES[seq * P.maxPages + p / P.pageSize]);
      let o = ((page * P.pageSize + p % P.pageSize) * P.nKv + g) * hd + d;
      if (which == 0u) { x = KC[o]; } else { x = VC[o]; }
    }
    kv[i / HDMAX * QS + d] = x;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let t0 = wid.x * TQ;
  let g = wid.y;
  let c = wid.z;
  let hd = P.headDim;
  let cLo = c * P.chunk;
  let cHi = select(cLo + P.chunk, 0xffffffffu, P.nChunks == 1u);
  for (var j = lid; j < TQ; j += WG) {
    let t = t0 + j;
    if (t < P.T) {
      let pos = META[t * 4u + 1u];
      tPos[j] = pos;
      tSeq[j] = META[t * 4u + 2u];
      tLo[j] = select(0u, pos + 1u - P.window, P.window > 0u && pos + 1u > P.window);
      tState[j] = 0u;
    } else {
      tState[j] = 2u;
    }
  }
  for (var i = lid; i < R * HDMAX; i += WG) {
    let r = i / HDMAX;
    let d = i % HDMAX;
    let t = t0 + r / G;
    var q = 0.0;
    if (t < P.T && d < hd) { q = QKV[t * P.qkvStride + (g * G + r % G) * hd + d] * P.scale; }
    qs[r * QS + d] = q;
  }
  for (var r = lid; r < R; r += WG) {
    mS[r] = NEG;
    lS[r] = 0.0;
  }
  ${S.map((s) => `var a${s} = 0.0;`).join(' ')}
  workgroupBarrier();
  loop {
    if (lid == 0u) {
      // The next pass: the first waiting token's sequence, over the keys its tokens see in this split.
      var found = 0u;
      var seq = 0u;
      var lo = 0xffffffffu;
      var hi = 0u;
      for (var j = 0u; j < TQ; j++) {
        if (tState[j] == 1u) { tState[j] = 2u; }
        if (tState[j] == 0u && (found == 0u || tSeq[j] == seq)) {
          found = 1u;
          seq = tSeq[j];
          tState[j] = 1u;
          lo = min(lo, tLo[j]);
          hi = max(hi, tPos[j] + 1u);
        }
      }
      passS = vec4u(seq, max(lo, cLo), min(hi, cHi), found);
    }
    let ps = workgroupUniformLoad(&passS);
    if (ps.w == 0u) { break; }
    for (var k0 = ps.y; k0 < ps.z; k0 += TK) {
      let kEnd = min(k0 + TK, ps.z);
      loadTile(lid, 0u, ps.x, k0, kEnd, g);
      workgroupBarrier();
      for (var i = lid; i < R * TK; i += WG) {
        let r = i / TK;
        let j = r / G;
        let k = i % TK;
        let p = k0 + k;
        var s = NEG;
        if (tState[j] == 1u && p < kEnd && p >= tLo[j] && p <= tPos[j]) {
          let qb = r * QS;
          let kb = k * QS;
          var acc = 0.0;
          for (var d = 0u; d < hd; d++) { acc += qs[qb + d] * kv[kb + d]; }
          if (P.softcap > 0.0) { acc = P.softcap * tanh(clamp(acc / P.softcap, -15.0, 15.0)); }
          s = acc;
        }
        sc[r * SS + k] = s;
      }
      workgroupBarrier();
      loadTile(lid, 1u, ps.x, k0, kEnd, g);
      for (var r = lid; r < R; r += WG) {
        let mOld = mS[r];
        var m = mOld;
        for (var k = 0u; k < TK; k++) { m = max(m, sc[r * SS + k]); }
        var l = lS[r];
        var a = 1.0;
        if (m > NEG) {
          a = exp(mOld - m);
          l *= a;
        }
        for (var k = 0u; k < TK; k++) {
          let s = sc[r * SS + k];
          let e = select(0.0, exp(s - m), s > NEG);
          sc[r * SS + k] = e;
          l += e;
        }
        mS[r] = m;
        lS[r] = l;
        aS[r] = a;
      }
      workgroupBarrier();
      ${S.map(
        (s) => `{
        let i = lid + ${s}u * WG;
        let r = min(i / HDMAX, R - 1u);
        let d = i % HDMAX;
        var o = a${s} * aS[r];
        for (var k = 0u; k < TK; k++) { o += sc[r * SS + k] * kv[k * QS + d]; }
        a${s} = o;
      }`,
      ).join('\n      ')}
      workgroupBarrier();
    }
    workgroupBarrier();
  }
  ${S.map(
    (s) => `{
    let i = lid + ${s}u * WG;
    let r = i / HDMAX;
    let d = i % HDMAX;
    let t = t0 + r / G;
    if (r < R && d < hd && t < P.T) {
      let head = g * G + r % G;
      if (P.nChunks == 1u) {
        OUT[(t * P.nHeads + head) * hd + d] = a${s} / lS[r];
      } else {
        let pb = ((t * P.nHeads + head) * P.nChunks + c) * (hd + 2u);
        PART[pb + d] = a${s};
        if (d == 0u) {
          PART[pb + hd] = mS[r];
          PART[pb + hd + 1u] = lS[r];
        }
      }
    }
  }`,
  ).join('\n  ')}
}
`,
    }),
  };
}

/** One token of a step, as the META buffer describes it. */
export interface StepToken {
  seq: number;
  pos: number;
}

/** What the attention of a layer applies beyond softmax(q·k)·v. */
export interface AttentionFeatures {
  /** Multiplies q·k (1/√headDim unless the model says otherwise). */
  scale: number;
  /** Keys a query sees, (pos − window, pos]; 0 = all. */
  window: number;
  /** s = softcap · tanh(s / softcap) on the scaled scores; 0 = none. */
  softcap: number;
}

/**
 * CPU reference for a whole step, in f64: token j (q at `q[j·nHeads·hd …]`, its heads in
 * order) attends to positions of its own sequence, keys and values `k[seq]`, `v[seq]`
 * [len, nKv·hd] in position order; returns [T, nHeads·hd].
 */
export function attentionStepRef(
  tokens: readonly StepToken[],
  q: Float32Array,
  k: readonly Float32Array[],
  v: readonly Float32Array[],
  nHeads: number,
  nKv: number,
  hd: number,
  f: AttentionFeatures,
): Float32Array {
  const out = new Float32Array(tokens.length * nHeads * hd);
  const group = nHeads / nKv;
  tokens.forEach((t, j) => {
    const K = k[t.seq]!;
    const V = v[t.seq]!;
    const lo = f.window > 0 ? Math.max(0, t.pos + 1 - f.window) : 0;
    const n = t.pos + 1 - lo;
    const scores = new Float64Array(n);
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / group);
      const qb = (j * nHeads + h) * hd;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[qb + d]! * K[((lo + i) * nKv + g) * hd + d]!;
        s *= f.scale;
        if (f.softcap > 0) s = f.softcap * Math.tanh(s / f.softcap);
        scores[i] = s;
        max = Math.max(max, s);
      }
      let sum = 0;
      for (let i = 0; i < n; i++) {
        scores[i] = Math.exp(scores[i]! - max);
        sum += scores[i]!;
      }
      for (let d = 0; d < hd; d++) {
        let o = 0;
        for (let i = 0; i < n; i++) o += scores[i]! * V[((lo + i) * nKv + g) * hd + d]!;
        out[qb + d] = o / sum;
      }
    }
  });
  return out;
}
