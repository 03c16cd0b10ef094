import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import { KernelError } from '../gpu/errors.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import type { WeightType } from '../quant/layout.js';
import { WEIGHT_TYPES } from '../quant/types.js';
import { intQuadFn, isQuantized, weightBindingType, weightFns } from '../quant/wgsl.js';

/**
 * y = W·x for every token of a step, with dequantization fused into the weight loads.
 * One generator serves decode (matrix–vector, `tt` = 1) and prefill (matrix–matrix, `tt` tokens
 * per tile share each dequantized weight). A workgroup owns `wg / tpr * rpt` rows; `tpr`
 * invocations split one row's columns and reduce through workgroup memory (or subgroups).
 * Fusions, chosen per call site, remove whole dispatches per layer:
 * - `norm`: RMSNorm of x (with weight G) computed in the prologue;
 * - `epi = 'add'`: y += W·x (the residual add); `'swiglu'`: y = silu(W_gate·x) * (W_up·x)
 *   (`'geglu'`: gelu_tanh instead of silu, Gemma), where the up rows start `P.upOff` rows after
 *   the gate rows of the same matrix;
 * - `gather`: token j reads x row `IDX[j]` (the classifier reads only each sequence's last token).
 * With `act = 'q8'` (integer-block types, real GPUs with dp4a) X holds activations quantized by
 * `quantizeActProgram` to int8 blocks of the weight type's block size (llama.cpp's Q8_0/Q8_1 or
 * Q8_K): each group's quants are dotted four at a time with `dot4I8Packed` into an i32, then
 * scaled by the weight group's scale and the activation block's d; a min uses the per-16 sums.
 * `norm` is then done by the quantizer, not here.
 * Reductions over a row's `tpr` lanes: with `subgroups`, a butterfly of `subgroupShuffleXor`
 * within each run of min(tpr, subgroup size) lanes, then (when the subgroup is narrower than
 * the row) one pass through workgroup memory; without, a tree in workgroup memory. Lanes of a
 * subgroup are taken to be consecutive `local_invocation_index`es, as every 1-D workgroup is laid
 * out on NVIDIA, AMD, Intel, Apple and ARM drivers.
 */
export interface LinearVariant {
  [k: string]: string | number | boolean;
  wtype: WeightType;
  wg: number;
  tpr: number;
  rpt: number;
  tt: number;
  norm: boolean;
  epi: 'store' | 'add' | 'swiglu' | 'geglu';
  gather: boolean;
  subgroups: boolean;
  /** 'q8': X is int8-quantized (dp4a); 'f32': X is floats. */
  act: 'f32' | 'q8';
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

/** The gated epilogues read a gate row and its up row. */
function gated(v: LinearVariant): boolean {
  return v.epi === 'swiglu' || v.epi === 'geglu';
}

/** ggml's tanh-approximated GELU; the tanh argument is clamped, since some drivers overflow exp() into NaN. */
const GELU_WGSL = `fn gelu(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh(clamp(0.7978845608 * x * (1.0 + 0.044715 * x * x), -15.0, 15.0)));
}`;

export function linearProgram(v: LinearVariant): ProgramSpec<LinearVariant> {
  return { op: 'linear', variant: v, build: buildLinear };
}

/** Workgroups for `rows` output rows (swiglu: hidden rows) over `tokens` tokens. */
export function linearGrid(v: LinearVariant, rows: number, tokens: number): [number, number] {
  const rowsPerWg = (v.wg / v.tpr) * v.rpt;
  return [Math.ceil(rows / rowsPerWg), Math.ceil(tokens / v.tt)];
}

function buildLinear(v: LinearVariant) {
  const q8 = v.act === 'q8';
  if (q8 && (v.norm || !isQuantized(v.wtype)))
    throw new KernelError('INVALID_ARGUMENT', 'int8 activations need a block type and no fused norm', {
      wtype: v.wtype,
    });
  const bindings: BindingSpec[] = [
    { name: 'W', access: 'read', type: weightBindingType(v.wtype) },
    { name: 'X', access: 'read', type: q8 ? 'array<u32>' : 'array<f32>' },
    { name: 'Y', access: 'read_write', type: 'array<f32>' },
  ];
  if (v.norm) bindings.push({ name: 'G', access: 'read', type: 'array<f32>' });
  if (v.gather) bindings.push({ name: 'IDX', access: 'read', type: 'array<u32>' });
  bindings.push({ name: 'P', access: 'uniform', type: 'Params' });
  const nRows = gated(v) ? v.rpt * 2 : v.rpt;
  const useSubgroups = v.subgroups && v.tpr > 1;
  const quant = isQuantized(v.wtype);
  // Rows and tokens are unrolled into scalar registers: SwiftShader turns dynamically indexed
  // private arrays into memory traffic per lane, which made this kernel ~20× slower.
  const R = [...Array(nRows).keys()];
  const J = [...Array(v.tt).keys()];
  const RJ = R.flatMap((k) => J.map((j) => [k, j] as const));
  const lines = (f: (k: number, j: number) => string) => RJ.map(([k, j]) => f(k, j)).join('\n    ');

  const xRows = J.map(
    (j) =>
      `let xr${j} = ${v.gather ? `IDX[min(tok0 + ${j}u, P.T - 1u)]` : `min(tok0 + ${j}u, P.T - 1u)`} * P.xStride;`,
  ).join('\n  ');
  const wRows = [...Array(v.rpt).keys()]
    .map(
      (k) =>
        `let wr${k} = min(row0 + ${k}u, P.rows - 1u);${gated(v) ? ` let wr${v.rpt + k} = wr${k} + P.upOff;` : ''}`,
    )
    .join('\n  ');

  const normPrologue = v.norm
    ? J.map(
        (j) => `{
    var s = 0.0;
    for (var c = lid; c < P.cols; c += WG) { let a = X[xr${j} + c]; s += a * a; }
    nred[lid] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h) { nred[lid] += nred[lid + h]; }
      workgroupBarrier();
    }
    if (lid == 0u) { inv[${j}] = inverseSqrt(nred[0] / f32(P.cols) + P.eps); }
    workgroupBarrier();
  }`,
      ).join('\n  ') +
      '\n  ' +
      J.map((j) => `let inv${j} = inv[${j}];`).join(' ')
    : '';

  const xLoads = (q: string) => {
    const g = v.norm
      ? `let g4 = vec4f(G[4u * ${q}], G[4u * ${q} + 1u], G[4u * ${q} + 2u], G[4u * ${q} + 3u]);\n      `
      : '';
    const xs = J.map((j) => {
      const b = `xr${j} + 4u * ${q}`;
      const x = `vec4f(X[${b}], X[${b} + 1u], X[${b} + 2u], X[${b} + 3u])`;
      return `let x${j} = ${v.norm ? `${x} * g4 * inv${j}` : x};`;
    }).join('\n      ');
    return `${g}${xs}`;
  };

  // Quantized rows go group by group (16 or 32 elements sharing a scale and offset): the
  // integer-valued quants are dotted with x, then scaled once per group; types with a min add
  // offset · Σx of the group.
  const hasMin = quant && WEIGHT_TYPES[v.wtype].hasMin;
  const t = v.wtype;
  const q8Body = `let xd = P.cols / 4u;
  let xs = xd + P.cols / BE;
  for (var g = lane; g < P.cols / GS; g += TPR) {
    let b = g / GPB;
    let s = g % GPB;
    let j0 = s * QPG;
    ${R.map((k) => `let o${k} = w_block(wr${k}, b); let dh${k} = w_dh(wr${k}, b);`).join('\n    ')}
    ${lines((k, j) => `var i${k}_${j} = 0i;`)}
    for (var qi = 0u; qi < QPG; qi++) {
      let q = g * QPG + qi;
      ${J.map((j) => `let x${j} = X[xr${j} + q];`).join(' ')}
      ${R.map((k) => `let w${k} = ${t}_qi(o${k}, j0 + qi);`).join('\n      ')}
      ${lines((k, j) => `i${k}_${j} += dot4I8Packed(w${k}, x${j});`)}
    }
    ${J.map((j) => `let dx${j} = bitcast<f32>(X[xr${j} + xd + b]);`).join(' ')}
    ${
      hasMin
        ? J.map(
            (j) =>
              `let sx${j} = f32(${
                WEIGHT_TYPES[v.wtype].group === 32
                  ? `bitcast<i32>(X[xr${j} + xs + 2u * g]) + bitcast<i32>(X[xr${j} + xs + 2u * g + 1u])`
                  : `bitcast<i32>(X[xr${j} + xs + g])`
              });`,
          ).join(' ')
        : ''
    }
    ${R.map((k) => `let gs${k} = ${t}_g(o${k}, dh${k}, s);`).join('\n    ')}
    ${lines((k, j) => `a${k}_${j} += dx${j} * (gs${k}.x * f32(i${k}_${j})${hasMin ? ` + gs${k}.y * sx${j}` : ''});`)}
  }`;
  const body = q8
    ? q8Body
    : quant
      ? `for (var g = lane; g < P.cols / GS; g += TPR) {
    let b = g / GPB;
    let s = g % GPB;
    let j0 = s * QPG;
    ${R.map((k) => `let o${k} = w_block(wr${k}, b); let dh${k} = w_dh(wr${k}, b);`).join('\n    ')}
    ${lines((k, j) => `var s${k}_${j} = 0.0;`)}
    ${hasMin ? J.map((j) => `var sx${j} = 0.0;`).join(' ') : ''}
    for (var qi = 0u; qi < QPG; qi++) {
      let q = g * QPG + qi;
      ${xLoads('q')}
      ${R.map((k) => `let w${k} = ${t}_q(o${k}, j0 + qi);`).join('\n      ')}
      ${lines((k, j) => `s${k}_${j} += dot(w${k}, x${j});`)}
      ${hasMin ? J.map((j) => `sx${j} += dot(x${j}, vec4f(1.0));`).join(' ') : ''}
    }
    ${R.map((k) => `let gs${k} = ${t}_g(o${k}, dh${k}, s);`).join('\n    ')}
    ${lines((k, j) => `a${k}_${j} += gs${k}.x * s${k}_${j}${hasMin ? ` + gs${k}.y * sx${j}` : ''};`)}
  }`
      : `for (var q = lane; q < (P.cols + 3u) / 4u; q += TPR) {
      ${xLoads('q')}
      ${R.map((k) => `let w${k} = w_quad(wr${k}, q);`).join('\n      ')}
      ${lines((k, j) => `a${k}_${j} += dot(w${k}, x${j});`)}
  }`;

  const nAcc = RJ.length;
  let reduce = '';
  if (v.tpr > 1 && useSubgroups) {
    // A butterfly within runs of min(TPR, subgroup size) lanes (masks past the subgroup are
    // dropped by select, keeping the shuffles in uniform control flow); WebGPU's smallest
    // subgroup is 4 lanes, so rows of ≤ 4 lanes need no second level.
    const masks: number[] = [];
    for (let m = v.tpr / 2; m >= 1; m /= 2) masks.push(m);
    const fly = masks
      .map((m) =>
        lines((k, j) => `a${k}_${j} += select(0.0, subgroupShuffleXor(a${k}_${j}, ${m}u), ${m}u < seg);`),
      )
      .join('\n  ');
    reduce = `let seg = min(TPR, sgs);
  ${fly}`;
    if (v.tpr > 4)
      reduce += `
  if (lid % seg == 0u) {
    ${RJ.map(([k, j], i) => `red[(lid / seg) * ${nAcc}u + ${i}u] = a${k}_${j};`).join('\n    ')}
  }
  workgroupBarrier();
  if (lane == 0u) {
    for (var p = 1u; p < TPR / seg; p++) {
      ${RJ.map(([k, j], i) => `a${k}_${j} += red[(lid / seg + p) * ${nAcc}u + ${i}u];`).join('\n      ')}
    }
  }`;
  } else if (v.tpr > 1) {
    reduce = `${RJ.map(([k, j], i) => `red[lid * ${nAcc}u + ${i}u] = a${k}_${j};`).join('\n  ')}
  workgroupBarrier();
  for (var h = TPR / 2u; h > 0u; h >>= 1u) {
    if (lane < h) {
      for (var i = 0u; i < ${nAcc}u; i++) { red[lid * ${nAcc}u + i] += red[(lid + h) * ${nAcc}u + i]; }
    }
    workgroupBarrier();
  }
  ${RJ.map(([k, j], i) => `a${k}_${j} = red[lid * ${nAcc}u + ${i}u];`).join('\n  ')}`;
  }

  const store = (k: number, j: number) => {
    const yi = `(tok0 + ${j}u) * P.yStride + P.yOff + row0 + ${k}u`;
    const cond = `row0 + ${k}u < P.rows && tok0 + ${j}u < P.T`;
    const val =
      v.epi === 'store'
        ? `a${k}_${j}`
        : v.epi === 'add'
          ? `Y[${yi}] + a${k}_${j}`
          : v.epi === 'swiglu'
            ? `a${k}_${j} / (1.0 + exp(-a${k}_${j})) * a${v.rpt + k}_${j}`
            : `gelu(a${k}_${j}) * a${v.rpt + k}_${j}`;
    return `if (${cond}) { Y[${yi}] = ${val}; }`;
  };
  const stores = [...Array(v.rpt).keys()].flatMap((k) => J.map((j) => store(k, j))).join('\n  ');

  const wgsl = `${useSubgroups ? 'enable subgroups;\n' : ''}${linearUniforms.wgsl()}
${bindingsWgsl(bindings)}
${weightFns(v.wtype)}
${q8 ? intQuadFn(v.wtype) : ''}
${v.epi === 'geglu' ? GELU_WGSL : ''}
const WG = ${v.wg}u;
const TPR = ${v.tpr}u;
const RPT = ${v.rpt}u;
const TT = ${v.tt}u;
${v.tpr > 1 && !useSubgroups ? `var<workgroup> red: array<f32, ${v.wg * nAcc}>;` : ''}
${v.tpr > 4 && useSubgroups ? `var<workgroup> red: array<f32, ${(v.wg / 4) * nAcc}>;` : ''}
${v.norm ? 'var<workgroup> nred: array<f32, WG>;\nvar<workgroup> inv: array<f32, TT>;' : ''}

@compute @workgroup_size(${v.wg})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u${useSubgroups ? ', @builtin(subgroup_size) sgs: u32' : ''}) {
  let lane = lid % TPR;
  let row0 = (wid.x * (WG / TPR) + lid / TPR) * RPT;
  let tok0 = wid.y * TT;
  ${xRows}
  ${normPrologue}
  ${wRows}
  ${RJ.map(([k, j]) => `var a${k}_${j} = 0.0;`).join(' ')}
  ${body}
  ${reduce}
  if (lane != 0u) { return; }
  ${stores}
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
