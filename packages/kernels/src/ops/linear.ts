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
 * - `epi = 'add'`: y += W·x (the residual add); `'swiglu'`: y = silu(W_gate·x) * (W_up·x)
 *   (`'geglu'`: gelu_tanh instead of silu, Gemma), where the up rows start `P.upOff` rows after
 *   the gate rows of the same matrix;
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
  epi: 'store' | 'add' | 'swiglu' | 'geglu';
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
  const bindings: BindingSpec[] = [
    { name: 'W', access: 'read', type: weightBindingType(v.wtype) },
    { name: 'X', access: 'read', type: 'array<f32>' },
    { name: 'Y', access: 'read_write', type: 'array<f32>' },
  ];
  if (v.norm) bindings.push({ name: 'G', access: 'read', type: 'array<f32>' });
  if (v.gather) bindings.push({ name: 'IDX', access: 'read', type: 'array<u32>' });
  bindings.push({ name: 'P', access: 'uniform', type: 'Params' });
  const nRows = gated(v) ? v.rpt * 2 : v.rpt;
  const useSubgroups = v.subgroups && v.tpr > 1 && v.tpr <= 4;
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

  const loads = (q: string) => {
    const g = v.norm
      ? `let g4 = vec4f(G[4u * ${q}], G[4u * ${q} + 1u], G[4u * ${q} + 2u], G[4u * ${q} + 3u]);\n      `
      : '';
    const xs = J.map((j) => {
      const b = `xr${j} + 4u * ${q}`;
      const x = `vec4f(X[${b}], X[${b} + 1u], X[${b} + 2u], X[${b} + 3u])`;
      return `let x${j} = ${v.norm ? `${x} * g4 * inv${j}` : x};`;
    }).join('\n      ');
    const ws = R.map((k) => `let w${k} = w_quad(wr${k}, ${q});`).join('\n      ');
    return `${g}${xs}\n      ${ws}`;
  };

  const body = quant
    ? `for (var b = lane; b < P.cols / 32u; b += TPR) {
    ${lines((k, j) => `var s${k}_${j} = 0.0;`)}
    for (var qi = 0u; qi < 8u; qi++) {
      let q = b * 8u + qi;
      ${loads('q')}
      ${lines((k, j) => `s${k}_${j} += dot(w${k}, x${j});`)}
    }
    ${R.map((k) => `let d${k} = w_scale(wr${k}, b);`).join('\n    ')}
    ${lines((k, j) => `a${k}_${j} += d${k} * s${k}_${j};`)}
  }`
    : `for (var q = lane; q < (P.cols + 3u) / 4u; q += TPR) {
      ${loads('q')}
      ${lines((k, j) => `a${k}_${j} += dot(w${k}, x${j});`)}
  }`;

  const nAcc = RJ.length;
  let reduce = '';
  if (v.tpr > 1 && useSubgroups) {
    // A butterfly within each row's lanes; tpr <= 4 fits in any subgroup (WebGPU's minimum size).
    reduce = `for (var m = TPR / 2u; m > 0u; m >>= 1u) {
    ${lines((k, j) => `a${k}_${j} += subgroupShuffleXor(a${k}_${j}, m);`)}
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
${v.epi === 'geglu' ? GELU_WGSL : ''}
const WG = ${v.wg}u;
const TPR = ${v.tpr}u;
const RPT = ${v.rpt}u;
const TT = ${v.tt}u;
${v.tpr > 1 && !useSubgroups ? `var<workgroup> red: array<f32, ${v.wg * nAcc}>;` : ''}
${v.norm ? 'var<workgroup> nred: array<f32, WG>;\nvar<workgroup> inv: array<f32, TT>;' : ''}

@compute @workgroup_size(${v.wg})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
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
