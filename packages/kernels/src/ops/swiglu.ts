import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * y = silu(a) · b element-wise. The decoder fuses this into the gate/up product (`linear` with
 * `epi: 'swiglu'`); the standalone kernel serves unfused callers and states the math once.
 */
export interface SwigluVariant {
  [k: string]: number;
  wg: number;
}

export const swigluUniforms = new UniformLayout({ n: 'u32' });

const bindings: BindingSpec[] = [
  { name: 'A', access: 'read', type: 'array<f32>' },
  { name: 'B', access: 'read', type: 'array<f32>' },
  { name: 'Y', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function swigluProgram(v: SwigluVariant): ProgramSpec<SwigluVariant> {
  return {
    op: 'swiglu',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${swigluUniforms.wgsl()}
${bindingsWgsl(bindings)}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${v.wg}u;
  if (i >= P.n) { return; }
  let a = A[i];
  Y[i] = a / (1.0 + exp(-a)) * B[i];
}
`,
    }),
  };
}

export function swigluRef(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => (v / (1 + Math.exp(-v))) * b[i]!);
}
