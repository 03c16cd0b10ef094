import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import type { WeightType } from '../quant/layout.js';
import { isQuantized, weightBindingType, weightFns } from '../quant/wgsl.js';

/**
 * y = W·x for every token of a step, with dequantization fused into the weight loads.
 * One generator serves decode (matrix–vector, `tt` = 1) and prefill (matrix–matrix, `tt` tokens
 * per tile share each dequantized weight). A workgroup owns `wg / tpr * rpt` rows; `tpr`
 * invocations split one row's columns and reduce through workgroup memory (or subgroups).
 * Fusions, chosen per call site, remove whole dispatches per layer:
 * - `norm`: RMSNorm of x (with weight G) computed in the prologue;
 * - `epi = 'add'`: y += W·x (the residual add); `'swiglu'`: y = silu(W_gate·x) * (W_up·x),
 *   where the up rows start `P.upOff` rows after the gate rows of the same matrix;
 * - `gather`: token j reads x row `IDX[j]` (the classifier reads only each sequence's last token).
 */
export interface LinearVariant {
  [k: string]: string | number | boolean;
  wtype: WeightType;
  wg: number;
  tpr: number;
  rpt: number;
  tt: number;
  norm: boolean;
  epi: 'store' | 'add' | 'swiglu';
  gather: boolean;
  subgroups: boolean;
}

export const linearUniforms = new UniformLayout({
  rows: 'u32',
  cols: 'u32',
  T: 'u32',
  wScale: 'u32',
  xStride: 'u32',
  yStride: 'u32',
  yOff: 'u32',
  upOff: 'u32',
  eps: 'f32',
});

export function linearProgram(v: LinearVariant): ProgramSpec<LinearVariant> {
  return { op: 'linear', variant: v, build: buildLinear };
}

/** Workgroups for `rows` output rows (swiglu: hidden rows) over `tokens` tokens. */
export function linearGrid(v: LinearVariant, rows: number, tokens: number): [number, number] {
  const rowsPerWg = (v.wg / v.tpr) * v.rpt;
  return [Math.ceil(rows / rowsPerWg), Math.ceil(tokens / v.tt)];
}

function buildLinear(v: LinearVariant) {
  const bindings: BindingSpec[] = [
    { name: 'W', access: 'read', type: weightBindingType(v.wtype) },
    { name: 'X', access: 'read', type: 'array<f32>' },
    { name: 'Y', access: 'read_write', type: 'array<f32>' },
  ];
  if (v.norm) bindings.push({ name: 'G', access: 'read', type: 'array<f32>' });
  if (v.gather) bindings.push({ name: 'IDX', access: 'read', type: 'array<u32>' });
  bindings.push({ name: 'P', access: 'uniform', type: 'Params' });
  const nRows = v.epi === 'swiglu' ? v.rpt * 2 : v.rpt;
  const useSubgroups = v.subgroups && v.tpr > 1 && v.tpr <= 4;
  const quant = isQuantized(v.wtype);

  const loadX = (q: string) => {
    const base = `xr[j] + 4u * ${q}`;
    const x = `vec4f(X[${base}], X[${base} + 1u], X[${base} + 2u], X[${base} + 3u])`;
    if (!v.norm) return x;
    const g = `vec4f(G[4u * ${q}], G[4u * ${q} + 1u], G[4u * ${q} + 2u], G[4u * ${q} + 3u])`;
    return `${x} * ${g} * inv[j]`;
  };

  const normPrologue = v.norm
    ? `for (var j = 0u; j < TT; j++) {
    var s = 0.0;
    for (var c = lid; c < P.cols; c += WG) { let a = X[xr[j] + c]; s += a * a; }
    nred[lid] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h) { nred[lid] += nred[lid + h]; }
      workgroupBarrier();
    }
    if (lid == 0u) { inv[j] = inverseSqrt(nred[0] / f32(P.cols) + P.eps); }
    workgroupBarrier();
  }`
    : '';

  // Inner product over one group of quads: q runs over a block (quantized) or single quads.
  const body = quant
    ? `for (var b = lane; b < P.cols / 32u; b += TPR) {
    // Zeroed explicitly: SwiftShader keeps a loop-scoped var's old value across iterations.
    var bacc: array<f32, NACC>;
    for (var a = 0u; a < NACC; a++) { bacc[a] = 0.0; }
    for (var qi = 0u; qi < 8u; qi++) {
      let q = b * 8u + qi;
      var xv: array<vec4f, TT>;
      for (var j = 0u; j < TT; j++) { xv[j] = ${loadX('q')}; }
      for (var k = 0u; k < NROWS; k++) {
        let w = w_quad(wr[k], q);
        for (var j = 0u; j < TT; j++) { bacc[k * TT + j] += dot(w, xv[j]); }
      }
    }
    for (var k = 0u; k < NROWS; k++) {
      let d = w_scale(wr[k], b);
      for (var j = 0u; j < TT; j++) { acc[k * TT + j] += d * bacc[k * TT + j]; }
    }
  }`
    : `for (var q = lane; q < (P.cols + 3u) / 4u; q += TPR) {
    var xv: array<vec4f, TT>;
    for (var j = 0u; j < TT; j++) { xv[j] = ${loadX('q')}; }
    for (var k = 0u; k < NROWS; k++) {
      let w = w_quad(wr[k], q);
      for (var j = 0u; j < TT; j++) { acc[k * TT + j] += dot(w, xv[j]); }
    }
  }`;

  let reduce = '';
  if (v.tpr > 1 && useSubgroups) {
    // A butterfly within each row's lanes; tpr <= 4 fits in any subgroup (WebGPU's minimum size).
    reduce = `for (var m = TPR / 2u; m > 0u; m >>= 1u) {
    for (var a = 0u; a < NACC; a++) { acc[a] += subgroupShuffleXor(acc[a], m); }
  }`;
  } else if (v.tpr > 1) {
    reduce = `for (var a = 0u; a < NACC; a++) { red[lid * NACC + a] = acc[a]; }
  workgroupBarrier();
  for (var h = TPR / 2u; h > 0u; h >>= 1u) {
    if (lane < h) { for (var a = 0u; a < NACC; a++) { red[lid * NACC + a] += red[(lid + h) * NACC + a]; } }
    workgroupBarrier();
  }
  for (var a = 0u; a < NACC; a++) { acc[a] = red[lid * NACC + a]; }`;
  }

  const store =
    v.epi === 'store'
      ? 'Y[yi] = acc[k * TT + j];'
      : v.epi === 'add'
        ? 'Y[yi] = Y[yi] + acc[k * TT + j];'
        : 'let g = acc[k * TT + j]; Y[yi] = g / (1.0 + exp(-g)) * acc[(RPT + k) * TT + j];';

  const wgsl = `${useSubgroups ? 'enable subgroups;\n' : ''}${linearUniforms.wgsl()}
${bindingsWgsl(bindings)}
${weightFns(v.wtype)}
const WG = ${v.wg}u;
const TPR = ${v.tpr}u;
const RPT = ${v.rpt}u;
const TT = ${v.tt}u;
const NROWS = ${nRows}u;
const NACC = ${nRows * v.tt}u;
${v.tpr > 1 && !useSubgroups ? 'var<workgroup> red: array<f32, WG * NACC>;' : ''}
${v.norm ? 'var<workgroup> nred: array<f32, WG>;\nvar<workgroup> inv: array<f32, TT>;' : ''}

@compute @workgroup_size(${v.wg})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let lane = lid % TPR;
  let row0 = (wid.x * (WG / TPR) + lid / TPR) * RPT;
  let tok0 = wid.y * TT;
  var xr: array<u32, TT>;
  for (var j = 0u; j < TT; j++) {
    let t = min(tok0 + j, P.T - 1u);
    xr[j] = ${v.gather ? 'IDX[t]' : 't'} * P.xStride;
  }
  ${normPrologue}
  var wr: array<u32, NROWS>;
  for (var k = 0u; k < RPT; k++) {
    wr[k] = min(row0 + k, P.rows - 1u);
    ${v.epi === 'swiglu' ? 'wr[RPT + k] = wr[k] + P.upOff;' : ''}
  }
  var acc: array<f32, NACC>;
  ${body}
  ${reduce}
  if (lane != 0u) { return; }
  for (var k = 0u; k < RPT; k++) {
    if (row0 + k >= P.rows) { break; }
    for (var j = 0u; j < TT; j++) {
      if (tok0 + j >= P.T) { break; }
      let yi = (tok0 + j) * P.yStride + P.yOff + row0 + k;
      ${store}
    }
  }
}
`;
  return { wgsl, bindings, workgroupSize: v.wg };
}

/** CPU reference: y[t, r] = Σ_c W[r, c] · x[t, c] for dequantized row-major W [rows, cols]. */
export function linearRef(
  w: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
  tokens: number,
): Float32Array {
  const y = new Float32Array(tokens * rows);
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[t * cols + c]!;
      y[t * rows + r] = s;
    }
  }
  return y;
}
