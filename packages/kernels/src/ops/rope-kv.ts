import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { F16_ROUND_WGSL } from '../quant/f16.js';

/**
 * RoPE on the q and k of every token of a step, fused with the paged KV write: k (rotated) and
 * v go to slot `pos % pageSize` of page `PAGES[seq][pos / pageSize]`. One dispatch replaces
 * three. Angles come from a table built on the CPU in f64 ({@link ropeTable}), so GPU and CPU
 * rotate by bit-identical cos/sin, and the shader does no transcendental math.
 *
 * Buffers: QKV [T, qkvStride] with q heads, then k heads, then v heads; META [T, 4] u32
 * (token, pos, seq, 0); PAGES [seqs, maxPages] i32; KC/VC [pages, pageSize, nKv, headDim].
 */
export interface RopeKvVariant {
  [k: string]: string | number;
  style: 'interleaved' | 'neox';
  wg: number;
  /**
   * `f16`: k and v are stored rounded to f16 and the rotated q is rounded too, as llama.cpp's
   * default f16 cache holds them and its attention reads q (see {@link KvPrecision}).
   */
  kv: KvPrecision;
}

/**
 * Precision of the KV cache's values. `f16` is llama.cpp's default: K and V rounded to f16 (the
 * slots stay f32), q rounded to f16 for its dot with K, and the attention's value accumulator
 * rounded to f16 at every key as llama.cpp's flash attention keeps it (ggml's CPU
 * `flash_attn_ext_f16`, the Vulkan shader's f16 accumulator). `f32` keeps everything float.
 */
export type KvPrecision = 'f16' | 'f32';

export const ropeKvUniforms = new UniformLayout({
  T: 'u32',
  nHeads: 'u32',
  nKv: 'u32',
  headDim: 'u32',
  qkvStride: 'u32',
  pageSize: 'u32',
  maxPages: 'u32',
});

const bindings: BindingSpec[] = [
  { name: 'QKV', access: 'read_write', type: 'array<f32>' },
  { name: 'META', access: 'read', type: 'array<u32>' },
  { name: 'PAGES', access: 'read', type: 'array<i32>' },
  { name: 'ROPE', access: 'read', type: 'array<vec2f>' },
  { name: 'KC', access: 'read_write', type: 'array<f32>' },
  { name: 'VC', access: 'read_write', type: 'array<f32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function ropeKvProgram(v: RopeKvVariant): ProgramSpec<RopeKvVariant> {
  const pair =
    v.style === 'interleaved'
      ? 'let i0 = 2u * i; let i1 = i0 + 1u;'
      : 'let i0 = i; let i1 = i + P.headDim / 2u;';
  const r = v.kv === 'f16' ? 'f16r' : '';
  return {
    op: 'rope_kv',
    variant: v,
    build: () => ({
      bindings,
      workgroupSize: v.wg,
      wgsl: `${ropeKvUniforms.wgsl()}
${bindingsWgsl(bindings)}
${v.kv === 'f16' ? F16_ROUND_WGSL : ''}
@compute @workgroup_size(${v.wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let half = P.headDim / 2u;
  let perTok = (P.nHeads + 2u * P.nKv) * half;
  let gi = gid.x + gid.y * nw.x * ${v.wg}u;
  if (gi >= P.T * perTok) { return; }
  let t = gi / perTok;
  let s = gi % perTok;
  let head = s / half;
  let i = s % half;
  ${pair}
  let pos = META[t * 4u + 1u];
  let seq = META[t * 4u + 2u];
  let base = t * P.qkvStride + head * P.headDim;
  let page = u32(PAGES[seq * P.maxPages + pos / P.pageSize]);
  let cache = ((page * P.pageSize + pos % P.pageSize) * P.nKv) * P.headDim;
  if (head >= P.nHeads + P.nKv) {
    let o = cache + (head - P.nHeads - P.nKv) * P.headDim;
    VC[o + i0] = ${r}(QKV[base + i0]);
    VC[o + i1] = ${r}(QKV[base + i1]);
    return;
  }
  let cs = ROPE[pos * half + i];
  let x0 = QKV[base + i0];
  let x1 = QKV[base + i1];
  let y0 = x0 * cs.x - x1 * cs.y;
  let y1 = x0 * cs.y + x1 * cs.x;
  if (head < P.nHeads) {
    QKV[base + i0] = ${r}(y0);
    QKV[base + i1] = ${r}(y1);
  } else {
    let o = cache + (head - P.nHeads) * P.headDim;
    KC[o + i0] = ${r}(y0);
    KC[o + i1] = ${r}(y1);
  }
}
`,
    }),
  };
}

/** Invocations: one per rotated pair of q and k, and per pair of v copied. */
export function ropeKvThreads(tokens: number, nHeads: number, nKv: number, headDim: number): number {
  return tokens * (nHeads + 2 * nKv) * (headDim / 2);
}

/** cos/sin of pos · theta^(-2i/headDim) for every position and pair, computed in f64. */
export function ropeTable(theta: number, headDim: number, positions: number): Float32Array<ArrayBuffer> {
  const half = headDim / 2;
  const out = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p / theta ** ((2 * i) / headDim);
      out[(p * half + i) * 2] = Math.cos(a);
      out[(p * half + i) * 2 + 1] = Math.sin(a);
    }
  }
  return out;
}

/** CPU reference: rotates one head vector in place at `pos`. */
export function ropeRef(
  x: Float32Array,
  pos: number,
  theta: number,
  style: 'interleaved' | 'neox',
): Float32Array {
  const hd = x.length;
  const half = hd / 2;
  for (let i = 0; i < half; i++) {
    const a = pos / theta ** ((2 * i) / hd);
    const c = Math.fround(Math.cos(a));
    const s = Math.fround(Math.sin(a));
    const i0 = style === 'interleaved' ? 2 * i : i;
    const i1 = style === 'interleaved' ? 2 * i + 1 : i + half;
    const x0 = x[i0]!;
    const x1 = x[i1]!;
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
  }
  return x;
}

/** CPU reference of the paged write: where position `pos` of a sequence lives in the cache. */
export function kvCacheOffset(
  pages: Int32Array,
  pos: number,
  pageSize: number,
  nKv: number,
  headDim: number,
  kvHead: number,
): number {
  const page = pages[Math.floor(pos / pageSize)]!;
  return ((page * pageSize + (pos % pageSize)) * nKv + kvHead) * headDim;
}
