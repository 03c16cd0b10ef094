import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * Greedy choice on the GPU: one workgroup per sequence reduces its logits row to the index of
 * the largest value (lowest index on ties, like the CPU sampler), so a decode step reads back
 * 4 bytes per sequence instead of the vocabulary.
 */
export interface ArgmaxVariant {
  [k: string]: number;
  wg: number;
}

export const argmaxUniforms = new UniformLayout({ vocab: 'u32', n: 'u32' });

const bindings: BindingSpec[] = [
  { name: 'LOGITS', access: 'read', type: 'array<f32>' },
  { name: 'OUT', access: 'read_write', type: 'array<u32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function argmaxProgram(v: ArgmaxVariant): ProgramSpec<ArgmaxVariant> {
  return {
    op: 'argmax',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${argmaxUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
var<workgroup> bv: array<f32, WG>;
var<workgroup> bi: array<u32, WG>;
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let base = wid.x * P.vocab;
  var best = -3.4e38;
  var idx = 0xffffffffu;
  for (var i = lid; i < P.vocab; i += WG) {
    let x = LOGITS[base + i];
    if (x > best) { best = x; idx = i; }
  }
  bv[lid] = best;
  bi[lid] = idx;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      let v = bv[lid + h];
      let j = bi[lid + h];
      if (v > bv[lid] || (v == bv[lid] && j < bi[lid])) { bv[lid] = v; bi[lid] = j; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { OUT[wid.x] = min(bi[0], P.vocab - 1u); }
}
`,
    }),
  };
}

export function argmaxRef(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}
