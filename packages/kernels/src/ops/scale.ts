import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * Element-wise y = s·y (`mode: 'scale'`, Gemma's √dim embedding scale) or y = s·tanh(y / s)
 * (`'softcap'`, Gemma 2's logit soft-cap) over the first n elements.
 */
export interface ScaleVariant {
  [k: string]: string | number;
  mode: 'scale' | 'softcap';
  wg: number;
}

export const scaleUniforms = new UniformLayout({ n: 'u32', s: 'f32' });

const bindings: BindingSpec[] = [
  { name: 'Y', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function scaleProgram(v: ScaleVariant): ProgramSpec<ScaleVariant> {
  // tanh through a clamped argument: some drivers compute it from exp() and overflow to NaN.
  const value = v.mode === 'scale' ? 'Y[i] * P.s' : 'P.s * tanh(clamp(Y[i] / P.s, -15.0, 15.0))';
  return {
    op: 'scale',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${scaleUniforms.wgsl()}
${bindingsWgsl(bindings)}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${v.wg}u;
  if (i < P.n) { Y[i] = ${value}; }
}
`,
    }),
  };
}
