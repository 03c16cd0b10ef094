import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { rowRmsWgsl } from './rmsnorm.js';

/**
 * X[t] += RMSNorm(Y[t]) · G, one workgroup per token: Gemma 3's post-attention and post-FFN
 * norms, applied to a branch's output before its residual add.
 */
export interface NormAddVariant {
  [k: string]: number;
  wg: number;
}

export const normAddUniforms = new UniformLayout({ dim: 'u32', eps: 'f32' });

const bindings: BindingSpec[] = [
  { name: 'Y', access: 'read', type: 'array<f32>' },
  { name: 'G', access: 'read', type: 'array<f32>' },
  { name: 'X', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function normAddProgram(v: NormAddVariant): ProgramSpec<NormAddVariant> {
  return {
    op: 'norm_add',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${normAddUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
${rowRmsWgsl('Y')}  for (var c = lid; c < P.dim; c += WG) { X[base + c] = X[base + c] + Y[base + c] * inv * G[c]; }
}
`,
    }),
  };
}
