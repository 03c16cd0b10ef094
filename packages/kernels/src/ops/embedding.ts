import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import type { WeightType } from '../quant/layout.js';
import { weightBindingType, weightFns } from '../quant/wgsl.js';

/**
 * x[t] = row META[t].token of the embedding table, dequantized from whatever type the table
 * has (the same GPU layout the tied classifier reads, so one upload serves both).
 */
export interface EmbeddingVariant {
  [k: string]: string | number;
  wtype: WeightType;
  wg: number;
}

/** `rowStart`/`rows`: the table rows this buffer holds (tables over the binding limit come in parts). */
export const embeddingUniforms = new UniformLayout({
  cols: 'u32',
  wScale: 'u32',
  T: 'u32',
  rowStart: 'u32',
  rows: 'u32',
});

export function embeddingProgram(v: EmbeddingVariant): ProgramSpec<EmbeddingVariant> {
  const bindings: BindingSpec[] = [
    { name: 'W', access: 'read', type: weightBindingType(v.wtype) },
    { name: 'META', access: 'read', type: 'array<u32>' },
    { name: 'Y', access: 'read_write', type: 'array<f32>' },
    { name: 'P', access: 'uniform', type: 'Params' },
  ];
  return {
    op: 'embedding',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${embeddingUniforms.wgsl()}
${bindingsWgsl(bindings)}
${weightFns(v.wtype)}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * ${v.wg}u;
  if (i >= P.T * P.cols) { return; }
  let tok = META[(i / P.cols) * 4u];
  if (tok < P.rowStart || tok >= P.rowStart + P.rows) { return; }
  Y[i] = w_elem(tok - P.rowStart, i % P.cols);
}
`,
    }),
  };
}
