import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { f16ToF32, f32ToF16 } from '../quant/f16.js';

/**
 * Activations quantized to int8 blocks for the dp4a matrix products (`linear` with `act: 'q8'`),
 * the way llama.cpp quantizes them for each weight type's `vec_dot_type`:
 * - `qb = 32` (Q8_0 / Q8_1, for Q4_0 … Q8_0 and IQ4_NL): d = amax / 127 rounded to f16,
 *   q = round(x · 127 / amax);
 * - `qb = 256` (Q8_K, for the K types and IQ4_XS): with m the element of largest magnitude,
 *   q = min(127, round(−127 / m · x)), d = m / −127 (f32).
 * Rounding is to nearest even, as x86's `_mm256_round_ps` and ggml's `nearest_int`.
 * With `norm`, x is first RMS-normalized (weight G): the matrix product then needs no prologue.
 *
 * A token's row, in u32 words: `cols / 4` words of packed int8 (element 4i + k in byte k of
 * word i); then `cols / qb` block scales (f32 bits); then `cols / 16` sums of each 16 quants
 * (i32 bits, for the weight types with a min: Q4_1, Q5_1, Q2_K, Q4_K, Q5_K). One invocation
 * quantizes one block; a token's blocks spread over `ceil(blocks / wg)` workgroups.
 */
export interface QuantizeActVariant {
  [k: string]: number | boolean;
  qb: number;
  norm: boolean;
  wg: number;
}

export const quantizeActUniforms = new UniformLayout({
  cols: 'u32',
  T: 'u32',
  /** Floats between token rows of X. */
  xStride: 'u32',
  /** Words between token rows of Q ({@link q8RowWords}). */
  qStride: 'u32',
  eps: 'f32',
});

/** Words of one token's quantized row (see {@link QuantizeActVariant}). */
export function q8RowWords(cols: number, qb: number): number {
  return cols / 4 + cols / qb + cols / 16;
}

export function quantizeActProgram(v: QuantizeActVariant): ProgramSpec<QuantizeActVariant> {
  return { op: 'quantize_act', variant: v, build: () => buildQuantize(v) };
}

/** Workgroups for a step of `tokens` tokens over `cols` columns. */
export function quantizeActGrid(v: QuantizeActVariant, cols: number, tokens: number): [number, number] {
  return [Math.ceil(cols / v.qb / v.wg), tokens];
}

function buildQuantize(v: QuantizeActVariant) {
  const bindings: BindingSpec[] = [
    { name: 'X', access: 'read', type: 'array<f32>' },
    { name: 'Q', access: 'read_write', type: 'array<u32>' },
  ];
  if (v.norm) bindings.push({ name: 'G', access: 'read', type: 'array<f32>' });
  bindings.push({ name: 'P', access: 'uniform', type: 'Params' });
  const k = v.qb === 256;
  const norm = v.norm
    ? `var s = 0.0;
  for (var c = lid; c < P.cols; c += WG) { let a = X[xr + c]; s += a * a; }
  red[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(P.cols) + P.eps);`
    : '';
  const xv = v.norm ? 'X[xr + c] * G[c] * inv' : 'X[xr + c]';
  const wgsl = `${quantizeActUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
const QB = ${v.qb}u;
${v.norm ? 'var<workgroup> red: array<f32, WG>;' : ''}
fn xval(xr: u32, c: u32${v.norm ? ', inv: f32' : ''}) -> f32 { return ${xv}; }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let t = wid.y;
  let xr = t * P.xStride;
  ${norm}
  let b = wid.x * WG + lid;
  if (b >= P.cols / QB) { return; }
  let c0 = b * QB;
  var amax = 0.0;
  var mx = 0.0;
  for (var i = 0u; i < QB; i++) {
    let x = xval(xr, c0 + i${v.norm ? ', inv' : ''});
    if (abs(x) > amax) { amax = abs(x); mx = x; }
  }
  ${q8ScaleWgsl(v.qb)}
  let qr = t * P.qStride;
  let sAt = qr + P.cols / 4u + P.cols / QB + c0 / 16u;
  for (var g = 0u; g < QB / 16u; g++) {
    var sum = 0i;
    for (var w = 0u; w < 4u; w++) {
      var word = 0u;
      for (var e = 0u; e < 4u; e++) {
        let c = c0 + g * 16u + w * 4u + e;
        let q = ${k ? 'min(127, i32(round(is * xval(xr, c' + (v.norm ? ', inv' : '') + '))))' : `i32(round(is * xval(xr, c${v.norm ? ', inv' : ''})))`};
        sum += q;
        word |= (u32(q) & 255u) << (8u * e);
      }
      Q[qr + (c0 + g * 16u) / 4u + w] = word;
    }
    Q[sAt + g] = bitcast<u32>(sum);
  }
  Q[qr + P.cols / 4u + b] = bitcast<u32>(d);
}
`;
  return { wgsl, bindings, workgroupSize: v.wg };
}

/**
 * WGSL statements giving a block's inverse scale `is` and scale `d` from its largest magnitude
 * `amax` (element `mx`), both 0 for an all-zero block. Q8_0/Q8_1 store d as f16, so the dot
 * products use the rounded one.
 */
function q8ScaleWgsl(qb: number): string {
  return qb === 256
    ? `let is = select(0.0, -127.0 / mx, amax > 0.0);
  let d = select(0.0, 1.0 / is, amax > 0.0);`
    : `let is = select(0.0, 127.0 / amax, amax > 0.0);
  let d = unpack2x16float(pack2x16float(vec2f(amax / 127.0, 0.0))).x;`;
}

/**
 * WGSL `q8round${qb}(c0)`: the activations' block of `qb` elements at c0 rounded in place as
 * {@link quantizeActProgram} quantizes it, each element left as its dequantized value q·d. For
 * kernels that keep f32 products but must multiply what llama.cpp's int8 dot products multiply
 * (the fused layer on CPU-emulated adapters); the caller defines `ald(i)` and `ast(i, x)`.
 */
export function q8RoundWgsl(qb: number): string {
  const k = qb === 256;
  return `fn q8round${qb}(c0: u32) {
  var amax = 0.0;
  var mx = 0.0;
  for (var i = 0u; i < ${qb}u; i++) { let x = ald(c0 + i); if (abs(x) > amax) { amax = abs(x); mx = x; } }
  if (amax == 0.0) { return; }
  ${q8ScaleWgsl(qb)}
  for (var i = 0u; i < ${qb}u; i++) { ast(c0 + i, ${k ? 'min(127.0, round(is * ald(c0 + i)))' : 'round(is * ald(c0 + i))'} * d); }
}`;
}

/** Round half to even, as the GPU's `round` and ggml's `nearest_int`. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One token's quantized row on the CPU: int8 quants, block scales, per-16 sums. */
export interface Q8Row {
  q: Int8Array;
  d: Float32Array;
  sums: Int32Array;
}

/** CPU reference of {@link quantizeActProgram} for one row (already normalized if wanted). */
export function quantizeActRef(x: Float32Array, qb: number): Q8Row {
  const cols = x.length;
  const q = new Int8Array(cols);
  const d = new Float32Array(cols / qb);
  const sums = new Int32Array(cols / 16);
  const f = Math.fround;
  for (let b = 0; b < cols / qb; b++) {
    let amax = 0;
    let mx = 0;
    for (let i = 0; i < qb; i++) {
      const v = x[b * qb + i]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        mx = v;
      }
    }
    const is = amax > 0 ? (qb === 256 ? f(-127 / mx) : f(127 / amax)) : 0;
    d[b] = qb === 256 ? (amax > 0 ? f(1 / is) : 0) : f16ToF32(f32ToF16(f(amax / 127)));
    for (let i = 0; i < qb; i++) {
      const c = b * qb + i;
      const v = rint(f(is * x[c]!));
      q[c] = qb === 256 ? Math.min(127, v) : v;
      sums[c >> 4]! += q[c]!;
    }
  }
  return { q, d, sums };
}

/** The GPU row layout of {@link quantizeActRef}'s result (tests upload it as a linear's X). */
export function packQ8Row(r: Q8Row, qb: number): Uint32Array {
  const cols = r.q.length;
  const out = new Uint32Array(q8RowWords(cols, qb));
  new Int8Array(out.buffer, 0, cols).set(r.q);
  new Float32Array(out.buffer, cols, cols / qb).set(r.d);
  new Int32Array(out.buffer, cols + (cols / qb) * 4, cols / 16).set(r.sums);
  return out;
}

/** Dequantized activations (q · d), what the dp4a kernels effectively multiply by. */
export function dequantQ8Row(r: Q8Row, qb: number): Float32Array {
  return Float32Array.from(r.q, (v, c) => v * r.d[Math.floor(c / qb)]!);
}
