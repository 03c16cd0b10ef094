import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * y = x / sqrt(mean(x²) + eps) · g, one workgroup per token. The decoder folds this into the
 * following matrix product (`linear` with `norm`); this standalone form serves other callers.
 */
export interface RmsNormVariant {
  [k: string]: number;
  wg: number;
}

export const rmsnormUniforms = new UniformLayout({ dim: 'u32', T: 'u32', eps: 'f32' });

const bindings: BindingSpec[] = [
  { name: 'X', access: 'read', type: 'array<f32>' },
  { name: 'G', access: 'read', type: 'array<f32>' },
  { name: 'Y', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

/**
 * The head of a one-workgroup-per-row RMS kernel: row `wid.x` of `src` (P.dim wide) reduced in
 * workgroup memory to `inv` = 1/sqrt(mean(src²) + eps), with `base` its first index. The caller's
 * shader declares WG, P and `src`, and closes `main` after its own use of `inv`.
 */
export function rowRmsWgsl(src: string): string {
  return `var<workgroup> red: array<f32, WG>;
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let base = wid.x * P.dim;
  var s = 0.0;
  for (var c = lid; c < P.dim; c += WG) { let a = ${src}[base + c]; s += a * a; }
  red[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(P.dim) + P.eps);
`;
}

export function rmsnormProgram(v: RmsNormVariant): ProgramSpec<RmsNormVariant> {
  return {
    op: 'rmsnorm',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${rmsnormUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
${rowRmsWgsl('X')}  for (var c = lid; c < P.dim; c += WG) { Y[base + c] = X[base + c] * inv * G[c]; }
}
`,
    }),
  };
}

/** One workgroup per token. */
export function rmsnormGrid(tokens: number): [number] {
  return [tokens];
}

export function rmsnormRef(x: Float32Array, g: Float32Array, dim: number, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let t = 0; t < x.length / dim; t++) {
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += x[t * dim + c]! ** 2;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let c = 0; c < dim; c++) y[t * dim + c] = x[t * dim + c]! * inv * g[c]!;
  }
  return y;
}
