import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { F16_ROUND_WGSL } from '../quant/f16.js';
import { stackSegments, type WeightType, weightLayout } from '../quant/layout.js';
import { q8Block } from '../quant/types.js';
import {
  type PackedView,
  packedDotFn,
  packedPrelude,
  packedView,
  packedViewType,
  packedWordFn,
} from '../quant/wgsl.js';
import { ropeAttn } from './decoder-layer-attention.js';
import { q8RoundWgsl } from './quantize-act.js';
import type { KvPrecision } from './rope-kv.js';

/**
 * A whole decoder layer in ONE workgroup of ONE dispatch, for CPU-emulated adapters
 * (SwiftShader, WARP, llvmpipe): there a dispatch costs ~100 µs and a workgroup ~30 µs while
 * small models need only tens of thousands of multiply–adds per layer, so the general path's
 * seven dispatches per layer are almost all overhead. Stages, separated by barriers:
 * RMSNorm → QKV → RoPE + paged KV write → causal GQA attention over the sequence's pages →
 * output projection + residual → RMSNorm → gate/up + SwiGLU → down + residual.
 * The step's T tokens are processed one after another inside the kernel (a token's K/V are in
 * the cache before the next token attends), so batched decode and short prefills work too.
 * A big layer can instead run as four dispatches whose matrices spread over several
 * workgroups (`part`, `split`), for emulators with cores to spare.
 *
 * The shader is specialised on the model's dimensions (constants fold into loop bounds and
 * divisions); offsets into the weight pack travel as uniforms. Weights: one `W` binding per
 * layer holding every matrix and both norms ({@link decoderLayerPack}), which keeps the kernel
 * at 7 storage bindings, under WebGPU's default limit of 8. Activations live in workgroup
 * memory when they fit (`act: 'workgroup'`), else in a scratch area of `ACT` after the
 * residual rows; attention scores always go to `ACT` (they grow with the context).
 *
 * Buffers: ACT [maxTokens·dim residual | scratch] f32; KC/VC [pages, pageSize, nKv, headDim];
 * META [T, 4] u32 (token, pos, seq, 0); PAGES [seqs, maxPages] i32; ROPE [ctx, headDim/2] vec2f.
 */
export interface DecoderLayerVariant {
  [k: string]: string | number;
  /** Weight types of q, k, v, output, gate|up and down (mixed files differ per tensor). */
  tQ: WeightType;
  tK: WeightType;
  tV: WeightType;
  tWo: WeightType;
  tGu: WeightType;
  tDn: WeightType;
  wg: number;
  dim: number;
  hidden: number;
  nHeads: number;
  nKv: number;
  headDim: number;
  /** Positions the score area holds (the model's context). */
  ctx: number;
  style: 'interleaved' | 'neox';
  act: 'workgroup' | 'storage';
  /** Matrix rows per invocation, 1 to 4: each activation load serves that many rows. */
  rpt: number;
  /**
   * `all`: the whole layer in one workgroup. Otherwise one of the four dispatches of a layer
   * split so its matrices spread over `split` workgroups (every core of the emulator, where one
   * workgroup runs on one): `qkv` (RMSNorm, q|k|v), `attn` (RoPE, KV write, attention, output
   * projection + residual: one workgroup), `ffn` (RMSNorm, gate/up + SwiGLU), `down` (+ residual).
   * q|k|v and the SwiGLU output travel between them in ACT from `scr` on ({@link decoderLayerSplitStride}
   * floats per token); activations stay in workgroup memory (`act: 'workgroup'`).
   */
  part: DecoderLayerPart;
  split: number;
  /** The KV cache's precision (see `KvPrecision`: `f16` is llama.cpp's arithmetic). */
  kv: KvPrecision;
  /**
   * Matrix inputs. `q8`: each is rounded in place to the int8 blocks llama.cpp's CPU dots that
   * matrix's type against ({@link q8Block}: Q8_0 per 32, Q8_K per 256; float types keep f32),
   * so the f32 products multiply what its integer dot products do. `f32`: left as computed.
   * A q|k|v stack whose types want different blocks keeps f32 inputs.
   */
  xq: 'q8' | 'f32';
}

export type DecoderLayerPart = 'all' | 'qkv' | 'attn' | 'ffn' | 'down';

/** Pack offsets are shader constants (the variant fixes the pack); the rest travels here. */
export const decoderLayerUniforms = new UniformLayout({
  T: 'u32',
  pageSize: 'u32',
  maxPages: 'u32',
  /** Float index in ACT of the activation scratch (storage variant). */
  scr: 'u32',
  /** Float index in ACT of the attention scores. */
  sco: 'u32',
  eps: 'f32',
  scale: 'f32',
});

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** Float offsets of the activations: normed x, q|k|v, attention output, SwiGLU output. */
export function decoderLayerActivations(v: DecoderLayerVariant) {
  const xn = 0;
  const qkv = xn + pad4(v.dim);
  const att = qkv + pad4((v.nHeads + 2 * v.nKv) * v.headDim);
  const hid = att + pad4(v.nHeads * v.headDim);
  return { xn, qkv, att, hid, total: hid + pad4(v.hidden), scores: v.nHeads * v.ctx };
}

/** Floats per token of a split layer's hand-over area: q|k|v, then the SwiGLU output. */
export function decoderLayerSplitStride(v: DecoderLayerVariant): number {
  return pad4((v.nHeads + 2 * v.nKv) * v.headDim) + pad4(v.hidden);
}

/** Rows of each workgroup's slice of an n-row matrix in a split part (a multiple of rpt). */
function sliceRows(v: DecoderLayerVariant, n: number): number {
  return Math.ceil(n / (Math.max(1, v.split) * v.rpt)) * v.rpt;
}

/** Workgroups a part's dispatch runs. */
export function decoderLayerWorkgroups(v: DecoderLayerVariant): number {
  const n = { all: 0, attn: 0, qkv: (v.nHeads + 2 * v.nKv) * v.headDim, ffn: v.hidden, down: v.dim }[v.part];
  return n === 0 ? 1 : Math.ceil(n / sliceRows(v, n));
}

/** Workgroup bytes the kernel declares (reduction array, plus activations when they live there). */
export function decoderLayerWorkgroupBytes(v: DecoderLayerVariant): number {
  return 4 * (v.wg + v.nHeads + v.ctx) + (v.act === 'workgroup' ? 4 * decoderLayerActivations(v).total : 0);
}

export interface PackedMatrix {
  type: WeightType;
  /** First output row of the matrix in its stack (q|k|v), and its rows. */
  rowStart: number;
  rows: number;
  /** Word where the matrix's rows start (a multiple of 64: 256-byte aligned, bindable on its own). */
  base: number;
  /** Word where its block scales start (absolute in the pack). */
  sbase: number;
  words: number;
}

/** Where each matrix and norm of one layer goes in its weight pack; sizes in 32-bit words. */
export interface DecoderLayerPack {
  /** q|k|v rows, one matrix per run of tensors of one type. */
  qkv: PackedMatrix[];
  wo: PackedMatrix;
  /** Gate rows, then up rows (the SwiGLU reads row r and r + hidden). */
  gateUp: PackedMatrix;
  down: PackedMatrix;
  attnNorm: number;
  ffnNorm: number;
  words: number;
}

/** The model dimensions and weight types a pack and a layer kernel depend on. */
export type DecoderLayerShape = Pick<
  DecoderLayerVariant,
  'tQ' | 'tK' | 'tV' | 'tWo' | 'tGu' | 'tDn' | 'dim' | 'hidden' | 'nHeads' | 'nKv' | 'headDim'
>;

export function decoderLayerPack(d: DecoderLayerShape): DecoderLayerPack {
  let at = 0;
  const place = (type: WeightType, rows: number, cols: number, rowStart = 0): PackedMatrix => {
    const lay = weightLayout(type, rows, cols);
    const m = { type, rowStart, rows, base: at, sbase: at + lay.scaleBase, words: lay.words };
    at = Math.ceil((at + lay.words) / 64) * 64;
    return m;
  };
  const qd = d.nHeads * d.headDim;
  const kd = d.nKv * d.headDim;
  const qkv = stackSegments([d.tQ, d.tK, d.tV], [qd, kd, kd]).map((s) =>
    place(s.type, s.rows, d.dim, s.rowStart),
  );
  const wo = place(d.tWo, d.dim, d.nHeads * d.headDim);
  const gateUp = place(d.tGu, 2 * d.hidden, d.dim);
  const down = place(d.tDn, d.dim, d.hidden);
  const attnNorm = at;
  at = Math.ceil((at + d.dim) / 64) * 64;
  const ffnNorm = at;
  at = Math.ceil((at + d.dim) / 64) * 64;
  return { qkv, wo, gateUp, down, attnNorm, ffnNorm, words: at };
}

/**
 * `dot_qkv(r)`: rows r..r+R-1 of q|k|v, each run of one type read by its own reader (run
 * boundaries are multiples of headDim, so R ≤ 4 rows never straddle two).
 */
function qkvDot(p: DecoderLayerPack, dim: number, rpt: number, view: PackedView): string {
  const fns = p.qkv.map((m, i) =>
    packedDotFn(`dot_qkv${i}`, m.type, dim, `${m.rows - 1}u`, 'XN4', rpt, view),
  );
  const branches = p.qkv.map((m, i) => {
    const call = `return dot_qkv${i}(r - ${m.rowStart}u, ${m.base}u, ${m.sbase}u);`;
    return i === p.qkv.length - 1 ? `  ${call}` : `  if (r < ${m.rowStart + m.rows}u) { ${call} }`;
  });
  return `${fns.join('\n')}
fn dot_qkv(r: u32) -> vec4f {
${branches.join('\n')}
}`;
}

const layerTypes = (v: DecoderLayerVariant) => [v.tQ, v.tK, v.tV, v.tWo, v.tGu, v.tDn];

/** The bindings; W's type is the widest view of the pack its matrices allow ({@link packedView}). */
const layerBindings = (view: PackedView): BindingSpec[] => [
  { name: 'W', access: 'read', type: packedViewType(view) },
  { name: 'ACT', access: 'read_write', type: 'array<f32>' },
  { name: 'KC', access: 'read_write', type: 'array<f32>' },
  { name: 'VC', access: 'read_write', type: 'array<f32>' },
  { name: 'META', access: 'read', type: 'array<u32>' },
  { name: 'PAGES', access: 'read', type: 'array<i32>' },
  { name: 'ROPE', access: 'read', type: 'array<vec2f>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function decoderLayerProgram(v: DecoderLayerVariant): ProgramSpec<DecoderLayerVariant> {
  return { op: 'decoder_layer', variant: v, build: buildLayer };
}

function buildLayer(v: DecoderLayerVariant) {
  const a = decoderLayerActivations(v);
  const pack = decoderLayerPack(v);
  const view = packedView(layerTypes(v));
  const bindings = layerBindings(view);
  const half = v.headDim / 2;
  const qkvD = (v.nHeads + 2 * v.nKv) * v.headDim;
  const pair =
    v.style === 'interleaved' ? 'let i0 = 2u * k; let i1 = i0 + 1u;' : `let i0 = k; let i1 = k + ${half}u;`;
  if (v.part !== 'all' && v.act !== 'workgroup')
    throw new TypeError('A split decoder layer keeps its activations in workgroup memory');
  const sliced = v.part === 'qkv' || v.part === 'ffn' || v.part === 'down';
  // Rows [r0, r1) of an n-row matrix: all of it, or this workgroup's slice in a split part.
  const rowLoop = (n: string, rows: number, body: string) => {
    const range = sliced
      ? `let r0 = wid.x * ${sliceRows(v, rows)}u;
    let r1 = min(r0 + ${sliceRows(v, rows)}u, ${n});`
      : `let r0 = 0u;
    let r1 = ${n};`;
    return `    {
    ${range}
    for (var r = r0 + lid * R; r < r1; r += WG * R) {
      ${body}
    }
    }
    sync();
`;
  };
  // Int8 rounding of a matrix input of n elements at o (see `xq`), for a matrix of block qb.
  const q8 = (qb: number, o: string, n: string) =>
    v.xq === 'q8' && qb > 0
      ? `    for (var b = lid; b < ${n} / ${qb}u; b += WG) { q8round${qb}(${o} + b * ${qb}u); }
    sync();
`
      : '';
  const qkvBlocks = [...new Set([v.tQ, v.tK, v.tV].map(q8Block))];
  const qb = {
    qkv: qkvBlocks.length === 1 ? qkvBlocks[0]! : 0,
    wo: q8Block(v.tWo),
    gu: q8Block(v.tGu),
    dn: q8Block(v.tDn),
  };
  const rounders = [...new Set(Object.values(qb))]
    .filter((b) => b > 0 && v.xq === 'q8')
    .map(q8RoundWgsl)
    .join('\n');
  const qkvStage = `    rmsnorm(lid, xo, ${pack.attnNorm}u);
${q8(qb.qkv, 'XN', 'DIM')}${rowLoop(
  'QKVD',
  qkvD,
  `let y = dot_qkv(r);
      for (var k = 0u; k < min(R, r1 - r); k++) { ${sliced ? 'ACT[hq + r + k] = y[k];' : 'ast(QO + r + k, y[k]);'} }`,
)}`;
  const attnStage = `${ropeAttn(pair, v.kv)}${q8(qb.wo, 'AO', 'NH * HD')}${rowLoop(
    'DIM',
    v.dim,
    `let y = dot_att(r, ${pack.wo.base}u, ${pack.wo.sbase}u);
      for (var k = 0u; k < min(R, r1 - r); k++) { ACT[xo + r + k] += y[k]; }`,
  )}`;
  const ffnStage = `    rmsnorm(lid, xo, ${pack.ffnNorm}u);
${q8(qb.gu, 'XN', 'DIM')}${rowLoop(
  'HID',
  v.hidden,
  `let g = dot_gu(r, ${pack.gateUp.base}u, ${pack.gateUp.sbase}u);
      let u = dot_gu(r + HID, ${pack.gateUp.base}u, ${pack.gateUp.sbase}u);
      let h = g / (vec4f(1.0) + exp(-g)) * u;
      for (var k = 0u; k < min(R, r1 - r); k++) { ${sliced ? 'ACT[hq + QKVP + r + k] = h[k];' : 'ast(HO + r + k, h[k]);'} }`,
)}`;
  const downStage =
    q8(qb.dn, 'HO', 'HID') +
    rowLoop(
      'DIM',
      v.dim,
      `let y = dot_hid(r, ${pack.down.base}u, ${pack.down.sbase}u);
      for (var k = 0u; k < min(R, r1 - r); k++) { ACT[xo + r + k] += y[k]; }`,
    );
  // A split part picks up what the previous dispatch handed over.
  const fetch = (to: string, from: string, n: string) =>
    `    for (var i = lid; i < ${n}; i += WG) { ast(${to} + i, ACT[${from} + i]); }
    sync();
`;
  const stages = {
    all: qkvStage + attnStage + ffnStage + downStage,
    qkv: qkvStage,
    attn: fetch('QO', 'hq', 'QKVD') + attnStage,
    ffn: ffnStage,
    down: fetch('HO', 'hq + QKVP', 'HID') + downStage,
  }[v.part];
  const actDecl =
    v.act === 'workgroup'
      ? `var<workgroup> A: array<vec4f, ${a.total / 4}>;
fn ald(i: u32) -> f32 { return A[i / 4u][i % 4u]; }
fn ast(i: u32, x: f32) { A[i / 4u][i % 4u] = x; }
fn x4(i: u32) -> vec4f { return A[i]; }`
      : `fn ald(i: u32) -> f32 { return ACT[P.scr + i]; }
fn ast(i: u32, x: f32) { ACT[P.scr + i] = x; }
fn x4(i: u32) -> vec4f { let o = P.scr + 4u * i; return vec4f(ACT[o], ACT[o + 1u], ACT[o + 2u], ACT[o + 3u]); }`;
  const wgsl = `${decoderLayerUniforms.wgsl()}
${bindingsWgsl(bindings)}
const WG = ${v.wg}u;
const DIM = ${v.dim}u;
const HID = ${v.hidden}u;
const NH = ${v.nHeads}u;
const NKV = ${v.nKv}u;
const HD = ${v.headDim}u;
const HALF = ${half}u;
const GRP = ${v.nHeads / v.nKv}u;
const QKVD = ${qkvD}u;
const QKVP = ${pad4(qkvD)}u;
const ST = ${decoderLayerSplitStride(v)}u;
const CTX = ${v.ctx}u;
const XN = ${a.xn}u;
const QO = ${a.qkv}u;
const AO = ${a.att}u;
const HO = ${a.hid}u;
const XN4 = ${a.xn / 4}u;
const AO4 = ${a.att / 4}u;
const HO4 = ${a.hid / 4}u;
var<workgroup> red: array<f32, WG>;
var<workgroup> hmax: array<f32, NH>;
// KV slot of every position of the current token's sequence: one page lookup per key, not per use.
var<workgroup> slots: array<u32, CTX>;
${actDecl}
${packedPrelude(layerTypes(v))}
${packedWordFn(view)}
${v.kv === 'f16' ? F16_ROUND_WGSL : ''}
${rounders}
${qkvDot(pack, v.dim, v.rpt, view)}
${packedDotFn('dot_gu', v.tGu, v.dim, '2u * HID - 1u', 'XN4', v.rpt, view)}
${packedDotFn('dot_att', v.tWo, v.nHeads * v.headDim, 'DIM - 1u', 'AO4', v.rpt, view)}
${packedDotFn('dot_hid', v.tDn, v.hidden, 'DIM - 1u', 'HO4', v.rpt, view)}
const R = ${v.rpt}u;

// Barriers for both address spaces: stages hand data over through workgroup memory and ACT.
fn sync() { storageBarrier(); workgroupBarrier(); }

// A[XN..] = RMSNorm(ACT[xo..]) with the norm weights at word gw of the pack.
fn rmsnorm(lid: u32, xo: u32, gw: u32) {
  var s = 0.0;
  for (var c = lid; c < DIM; c += WG) { let x = ACT[xo + c]; s += x * x; }
  red[lid] = s;
  workgroupBarrier();
  // Every lane sums the partials itself: one barrier instead of log2(WG). CPU emulators run a
  // barrier as a switch through every group of lanes, which costs more than WG loads.
  var ss = 0.0;
  for (var i = 0u; i < WG; i++) { ss += red[i]; }
  let inv = inverseSqrt(ss / f32(DIM) + P.eps);
  for (var c = lid; c < DIM; c += WG) { ast(XN + c, ACT[xo + c] * inv * bitcast<f32>(w_word(gw + c))); }
  sync();
}

// Where position p of sequence seq lives in the KV pages (element index of kv head 0).
fn slot(seq: u32, p: u32) -> u32 {
  let page = u32(PAGES[seq * P.maxPages + p / P.pageSize]);
  return (page * P.pageSize + p % P.pageSize) * NKV * HD;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  for (var t = 0u; t < P.T; t++) {
    let pos = META[t * 4u + 1u];
    let seq = META[t * 4u + 2u];
    let len = pos + 1u;
    let xo = t * DIM;
    // This token's hand-over area (split layers): q|k|v, then the SwiGLU output.
    let hq = P.scr + t * ST;

${stages}  }
}
`;
  return { wgsl, bindings, workgroupSize: v.wg };
}
