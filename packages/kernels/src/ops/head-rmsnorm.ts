import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';

/**
 * Per-head RMSNorm of q and k in place (Qwen3's and Gemma 3's attn_q_norm / attn_k_norm), before
 * RoPE. Workgroup (head, token) over QKV [T, qkvStride] (q heads, then k heads, then v): q heads
 * use W[0, headDim), k heads W[headDim, 2·headDim); v is left alone.
 */
export interface HeadRmsnormVariant {
  [k: string]: number;
  wg: number;
}

export const headRmsnormUniforms = new UniformLayout({
  nHeads: 'u32',
  headDim: 'u32',
  qkvStride: 'u32',
  eps: 'f32',
});

const bindings: BindingSpec[] = [
  { name: 'QKV', access: 'read_write', type: 'array<f32>' },
  { name: 'W', access: 'read', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function headRmsnormProgram(v: HeadRmsnormVariant): ProgramSpec<HeadRmsnormVariant> {
  return {
    op: 'head_rmsnorm',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${headRmsnormUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
var<workgroup> red: array<f32, WG>;
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let head = wid.x;
  let hd = P.headDim;
  let base = wid.y * P.qkvStride + head * hd;
  let w = select(hd, 0u, head < P.nHeads);
  var s = 0.0;
  for (var i = lid; i < hd; i += WG) { let a = QKV[base + i]; s += a * a; }
  red[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(hd) + P.eps);
  for (var i = lid; i < hd; i += WG) { QKV[base + i] = QKV[base + i] * inv * W[w + i]; }
}
`,
    }),
  };
}

/** Workgroups: one per q and k head of every token. */
export function headRmsnormGrid(tokens: number, nHeads: number, nKv: number): [number, number, number] {
  return [nHeads + nKv, tokens, 1];
}

/** CPU reference for one head vector. */
export function headRmsnormRef(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  let s = 0;
  for (const a of x) s += a * a;
  const inv = 1 / Math.sqrt(s / x.length + eps);
  return x.map((a, i) => a * inv * w[i]!);
}
