import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import type { WeightType } from '../quant/layout.js';
import { q8Block } from '../quant/types.js';
import { packedDotFn, packedPrelude, packedView, packedViewType } from '../quant/wgsl.js';
import { q8RoundWgsl } from './quantize-act.js';

/**
 * The classifier with the greedy choice fused in, for CPU-emulated adapters: workgroup
 * (i, s) normalises sequence s's last residual row (RMSNorm), computes `rowsPerWg` logits
 * (written out, for callers that sample on the CPU) and keeps their maximum. With one workgroup
 * per sequence (`final`) it writes the token id; otherwise each writes a (value, index) pair
 * that {@link argmaxMergeProgram} folds, so a 32k-row vocabulary spreads over every core.
 * Ties go to the lowest index, as in the CPU sampler.
 *
 * Buffers: W the classifier (packed layout, binding at its rows), ACT residual rows [T, dim],
 * G the output norm, IDX [nSeq] the row of each sequence's last token, LOGITS [nSeq, vocab],
 * BEST [nSeq, nWg] (f32 bits, index) pairs, OUT [nSeq] token ids.
 */
export interface HeadArgmaxVariant {
  [k: string]: string | number | boolean;
  wtype: WeightType;
  wg: number;
  dim: number;
  final: boolean;
  /** Rows per invocation, 1 to 8 (one activation load serves them all). */
  rpt: number;
  /** `q8`: the normalised row rounded to llama.cpp's int8 blocks first (`DecoderLayerVariant.xq`). */
  xq: 'q8' | 'f32';
}

export const headArgmaxUniforms = new UniformLayout({
  vocab: 'u32',
  rowsPerWg: 'u32',
  nWg: 'u32',
  wS: 'u32',
  eps: 'f32',
});

/** W is seen through the widest view its type allows ({@link packedView}). */
const headBindings = (wtype: WeightType): BindingSpec[] => [
  { name: 'W', access: 'read', type: packedViewType(packedView([wtype])) },
  { name: 'ACT', access: 'read', type: 'array<f32>' },
  { name: 'G', access: 'read', type: 'array<f32>' },
  { name: 'IDX', access: 'read', type: 'array<u32>' },
  { name: 'LOGITS', access: 'read_write', type: 'array<f32>' },
  { name: 'BEST', access: 'read_write', type: 'array<u32>' },
  { name: 'OUT', access: 'read_write', type: 'array<u32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function headArgmaxProgram(v: HeadArgmaxVariant): ProgramSpec<HeadArgmaxVariant> {
  const bindings = headBindings(v.wtype);
  const qb = v.xq === 'q8' ? q8Block(v.wtype) : 0;
  return {
    op: 'head_argmax',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${headArgmaxUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
const DIM = ${v.dim}u;
var<workgroup> xn: array<vec4f, ${Math.ceil(v.dim / 4)}>;
var<workgroup> red: array<f32, WG>;
var<workgroup> ri: array<u32, WG>;
fn x4(i: u32) -> vec4f { return xn[i]; }
fn ald(i: u32) -> f32 { return xn[i / 4u][i % 4u]; }
fn ast(i: u32, x: f32) { xn[i / 4u][i % 4u] = x; }
${qb > 0 ? q8RoundWgsl(qb) : ''}
${packedPrelude([v.wtype])}
${packedDotFn('dot_dim', v.wtype, v.dim, 'P.vocab - 1u', '0u', v.rpt, packedView([v.wtype]))}
const R = ${v.rpt}u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let s = wid.y;
  let xo = IDX[s] * DIM;
  var ss = 0.0;
  for (var c = lid; c < DIM; c += WG) { let x = ACT[xo + c]; ss += x * x; }
  red[lid] = ss;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(DIM) + P.eps);
  for (var c = lid; c < DIM; c += WG) { xn[c / 4u][c % 4u] = ACT[xo + c] * inv * G[c]; }
  workgroupBarrier();${
    qb > 0
      ? `
  for (var b = lid; b < DIM / ${qb}u; b += WG) { q8round${qb}(b * ${qb}u); }
  workgroupBarrier();`
      : ''
  }
  let r0 = wid.x * P.rowsPerWg;
  let r1 = min(r0 + P.rowsPerWg, P.vocab);
  var best = -3.4e38;
  var bi = 0xffffffffu;
  for (var r = r0 + lid * R; r < r1; r += WG * R) {
    let y = dot_dim(r, 0u, P.wS);
    // Rows in ascending order per invocation, so the first maximum wins ties.
    for (var k = 0u; k < min(R, r1 - r); k++) {
      let yk = ${v.rpt > 4 ? 'y[k >> 2u][k & 3u]' : 'y[k]'};
      LOGITS[s * P.vocab + r + k] = yk;
      if (yk > best) { best = yk; bi = r + k; }
    }
  }
  red[lid] = best;
  ri[lid] = bi;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      let y = red[lid + h];
      let j = ri[lid + h];
      if (y > red[lid] || (y == red[lid] && j < ri[lid])) { red[lid] = y; ri[lid] = j; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    ${
      v.final
        ? 'OUT[s] = min(ri[0], P.vocab - 1u);'
        : `let o = 2u * (s * P.nWg + wid.x);
    BEST[o] = bitcast<u32>(red[0]);
    BEST[o + 1u] = ri[0];`
    }
  }
}
`,
    }),
  };
}

export const argmaxMergeUniforms = new UniformLayout({ nWg: 'u32', vocab: 'u32' });

const mergeBindings: BindingSpec[] = [
  { name: 'BEST', access: 'read', type: 'array<u32>' },
  { name: 'OUT', access: 'read_write', type: 'array<u32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

/** Workgroup s folds sequence s's `nWg` (value, index) pairs into its token id. */
export function argmaxMergeProgram(v: { wg: number }): ProgramSpec<{ wg: number }> {
  return {
    op: 'argmax_merge',
    variant: v,
    build: () => ({
      bindings: mergeBindings,
      workgroupSize: v.wg,
      wgsl: `${argmaxMergeUniforms.wgsl()}
${bindingsWgsl(mergeBindings)}
const WG = ${v.wg}u;
var<workgroup> red: array<f32, WG>;
var<workgroup> ri: array<u32, WG>;
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  var best = -3.4e38;
  var bi = 0xffffffffu;
  for (var i = lid; i < P.nWg; i += WG) {
    let o = 2u * (wid.x * P.nWg + i);
    let y = bitcast<f32>(BEST[o]);
    let j = BEST[o + 1u];
    if (y > best || (y == best && j < bi)) { best = y; bi = j; }
  }
  red[lid] = best;
  ri[lid] = bi;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      let y = red[lid + h];
      let j = ri[lid + h];
      if (y > red[lid] || (y == red[lid] && j < ri[lid])) { red[lid] = y; ri[lid] = j; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { OUT[wid.x] = min(ri[0], P.vocab - 1u); }
}
`,
    }),
  };
}
