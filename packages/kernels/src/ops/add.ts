import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * Residual add, y += x. The decoder fuses it into the output projections (`linear` with
 * `epi: 'add'`); this standalone form serves unfused callers.
 */
export interface AddVariant {
  [k: string]: number;
  wg: number;
}

export const addUniforms = new UniformLayout({ n: 'u32' });

const bindings: BindingSpec[] = [
  { name: 'X', access: 'read', type: 'array<f32>' },
  { name: 'Y', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function addProgram(v: AddVariant): ProgramSpec<AddVariant> {
  return {
    op: 'add',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${addUniforms.wgsl()}
${bindingsWgsl(bindings)}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${v.wg}u;
  if (i < P.n) { Y[i] = Y[i] + X[i]; }
}
`,
    }),
  };
}

/** Element-wise grid: wraps into y past 65535 workgroups so large tensors stay in limits. */
export function elementGrid(n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

export function addRef(y: Float32Array, x: Float32Array): Float32Array {
  return y.map((v, i) => v + x[i]!);
}
