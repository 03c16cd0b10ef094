import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * Y[t, i] += B[i] for every token row of Y [T, stride]: the q/k/v biases of Qwen2 on the stacked
 * QKV output (B holds bq, bk, bv end to end).
 */
export interface BiasAddVariant {
  [k: string]: number;
  wg: number;
}

export const biasAddUniforms = new UniformLayout({ n: 'u32', stride: 'u32' });

const bindings: BindingSpec[] = [
  { name: 'B', access: 'read', type: 'array<f32>' },
  { name: 'Y', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function biasAddProgram(v: BiasAddVariant): ProgramSpec<BiasAddVariant> {
  return {
    op: 'bias_add',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${biasAddUniforms.wgsl()}
${bindingsWgsl(bindings)}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${v.wg}u;
  if (i < P.n) { Y[i] = Y[i] + B[i % P.stride]; }
}
`,
    }),
  };
}
