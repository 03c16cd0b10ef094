import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { advanceWgsl } from './decode-advance.js';
import { rngWgsl } from './rng.js';
import { sampleRankDraw, sampleRankWgsl } from './sample-rank.js';
import { sampleStateWgsl } from './sample-state.js';

/**
 * The token choice on the GPU, one workgroup per sequence, with the SDK `Sampler`'s semantics:
 * repetition penalty over the last `window` tokens (each distinct token once, llama.cpp style),
 * greedy argmax at temperature ≤ 0, else softmax at the temperature, min-p, top-k, top-p and one
 * draw `r = u × total` of the counter-based RNG. As in llama.cpp, the draw walks the candidates
 * in vocabulary order when no filter sorted them (no top-k, no top-p): two passes over the
 * logits and a walk of chunk masses. Top-k or top-p walk them by rank (`sample-rank.ts`), in
 * the ranked pipeline only.
 *
 * Buffers: LOGITS [nSeq, vocab] (overwritten: penalised logits, then probabilities), SS the
 * sequences' sampling state (see `sample-state.ts`), REC their recent tokens (`recStride`
 * each), OUT [nSeq] token ids; with `advance`, META, STEPS as in `decode-advance.ts`.
 */
export interface SampleVariant {
  [k: string]: number;
  wg: number;
  /** Candidates sorted at once; a power of two. */
  cap: number;
  /**
   * 1: top-k and top-p compiled in (the walk by rank). 0: temperature, min-p and the penalty
   * only, top-k and top-p ignored: a much smaller pipeline, which dispatches faster on CPU-emulated
   * adapters, for requests that filter nothing.
   */
  ranked: number;
}

/**
 * `bins` is always 256 (8-bit radix digits); a uniform so compilers keep the bin walks rolled.
 * `advance` ≠ 0: each sequence's token also advances it to the next decode step (see
 * `decode-advance.ts`; `maxSteps` is the STEPS row length).
 */
export const sampleUniforms = new UniformLayout({
  vocab: 'u32',
  recStride: 'u32',
  bins: 'u32',
  maxSteps: 'u32',
  advance: 'u32',
});

const bindings: BindingSpec[] = [
  { name: 'LOGITS', access: 'read_write', type: 'array<f32>' },
  { name: 'SS', access: 'read_write', type: 'array<u32>' },
  { name: 'REC', access: 'read_write', type: 'array<u32>' },
  { name: 'OUT', access: 'read_write', type: 'array<u32>' },
  { name: 'META', access: 'read_write', type: 'array<u32>' },
  { name: 'STEPS', access: 'read_write', type: 'array<u32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

export function sampleProgram(v: SampleVariant): ProgramSpec<SampleVariant> {
  if (v.cap & (v.cap - 1)) throw new RangeError('sample cap must be a power of two');
  return {
    op: 'sample',
    variant: v,
    build: () => ({ bindings, workgroupSize: v.wg, wgsl: sampleWgsl(v) }),
  };
}

/**
 * The draw in vocabulary order sums the kept mass per chunk of consecutive tokens, in at most
 * CHUNKS chunks (a workgroup array, small enough beside the narrow variant's mass histograms):
 * Gemma 3's 262,144 tokens get 256 chunks of 1,024.
 */
const CHUNKS = 256;

function sampleWgsl(v: SampleVariant): string {
  // Per-invocation mass histograms fit workgroup memory only for narrow workgroups.
  const MASS = v.wg <= 8;
  return `${sampleUniforms.wgsl()}
${bindingsWgsl(bindings)}
${rngWgsl}
${sampleStateWgsl}
${advanceWgsl}
const WG = ${v.wg}u;
var<workgroup> red: array<f32, WG>;
var<workgroup> redi: array<u32, WG>;
const CHUNKS = ${CHUNKS}u;
var<workgroup> cmass: array<f32, CHUNKS>;
var<workgroup> cnt: atomic<u32>;
var<workgroup> sh: array<u32, 24>;
var<workgroup> fpub: array<f32, 4>;
var<workgroup> wst: SampleState;
${v.ranked ? sampleRankWgsl(v.cap, MASS) : ''}
// The kept token where the running mass, in vocabulary order, first passes u × the kept mass:
// the chunk by the chunks' masses, then the token inside it. Rounding can leave the walk short
// of the target: then the last kept token of the chunk (of the vocabulary), as the CPU does.
fn draw_in_order(base: u32, ch: u32, nch: u32, u: f32) -> u32 {
  var total = vec2f(0.0);
  for (var c = 0u; c < nch; c++) { kahan_add(&total, cmass[c]); }
  let r = u * (total.x - total.y);
  var acc = vec2f(0.0);
  var c = 0u;
  var last = nch;
  for (; c < nch; c++) {
    if (cmass[c] > 0.0) { last = c; }
    var next = acc;
    kahan_add(&next, cmass[c]);
    if (r < next.x - next.y) { break; }
    acc = next;
  }
  let overshot = c == nch;
  if (overshot) { c = last; }
  var pick = 0xffffffffu;
  for (var i = c * ch; i < min(P.vocab, c * ch + ch); i++) {
    let p = LOGITS[base + i];
    if (p > 0.0 && p >= bitcast<f32>(sh[16])) {
      kahan_add(&acc, p);
      pick = i;
      if (r < acc.x - acc.y && !overshot) { break; }
    }
  }
  return pick;
}

// s.x += x with Kahan's compensation in s.y: the draw's running mass then carries about one f32
// rounding, near the CPU's f64 walk, so a draw landing close to a token boundary (flat
// distributions have many) still chooses what the CPU chooses.
fn kahan_add(s: ptr<function, vec2f>, x: f32) {
  let y = x - (*s).y;
  let t = (*s).x + y;
  (*s).y = (t - (*s).x) - y;
  (*s).x = t;
}

// The choice of sequence s (invocation 0 only, after every read of its state and window).
fn finish(s: u32, tok: u32) {
  OUT[s] = tok;
  if (P.advance != 0u) { advance_seq(s, tok); }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let s = wid.x;
  let base = s * P.vocab;
  // Through workgroup memory: loads of the read_write state are not uniform, the parameters are.
  if (lid == 0u) { wst = load_state(s); }
  let st = workgroupUniformLoad(&wst);
  // Repetition penalty, each distinct recent token once (a token's first occurrence applies it).
  if (st.penalty != 1.0) {
    let rb = s * P.recStride;
    let end = st.recent;
    let start = end - min(end, st.window);
    for (var k = start + lid; k < end; k += WG) {
      let t = REC[rb + k];
      var first = t < P.vocab;
      for (var j = start; j < k && first; j++) { first = REC[rb + j] != t; }
      if (first) {
        let x = LOGITS[base + t];
        LOGITS[base + t] = select(x * st.penalty, x / st.penalty, x > 0.0);
      }
    }
  }
  storageBarrier();
  // Largest logit, lowest index on ties (the greedy choice, and softmax's shift).
  var best = -3.4028234e38;
  var bi = 0xffffffffu;
  for (var i = lid; i < P.vocab; i += WG) {
    let x = LOGITS[base + i];
    if (x > best) { best = x; bi = i; }
  }
  red[lid] = best;
  redi[lid] = bi;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      let x = red[lid + h];
      let j = redi[lid + h];
      if (x > red[lid] || (x == red[lid] && j < redi[lid])) { red[lid] = x; redi[lid] = j; }
    }
    workgroupBarrier();
  }
  let mx = red[0];
  let amax = min(redi[0], P.vocab - 1u);
  let t = st.temperature;
  if (t <= 0.0) {
    if (lid == 0u) { finish(s, amax); }
    return;
  }
  workgroupBarrier();
  var sum = 0.0;
  for (var i = lid; i < P.vocab; i += WG) {
    let e = exp((LOGITS[base + i] - mx) / t);
    LOGITS[base + i] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  let total = red[0];
  // Probabilities, the kept count (min-p keeps what reaches minP × the top probability) and the
  // kept mass of each chunk of consecutive tokens, for the draw in vocabulary order. About √vocab
  // chunks of √vocab tokens: the draw's walk on one invocation is then shortest.
  let minKeep = select(0.0, (1.0 / total) * st.minP, st.minP > 0.0);
  let ch = max(u32(ceil(sqrt(f32(P.vocab)))), (P.vocab + CHUNKS - 1u) / CHUNKS);
  let nch = (P.vocab + ch - 1u) / ch;
  if (lid == 0u) {
    atomicStore(&cnt, 0u);
    sh[16] = bitcast<u32>(minKeep);
    sh[3] = 0u; sh[4] = 0xffffffffu; sh[5] = 0xffffffffu; sh[6] = 0u;
  }
  workgroupBarrier();
  var kept = 0u;
  for (var c = lid; c < nch; c += WG) {
    var m = vec2f(0.0);
    for (var i = c * ch; i < min(P.vocab, c * ch + ch); i++) {
      let p = LOGITS[base + i] / total;
      LOGITS[base + i] = p;
      if (p > 0.0 && p >= minKeep) { kept++; kahan_add(&m, p); }
    }
    cmass[c] = m.x - m.y;
  }
  atomicAdd(&cnt, kept);
  storageBarrier();
  workgroupBarrier();
  if (lid == 0u) { sh[0] = atomicLoad(&cnt); }
  let count = workgroupUniformLoad(&sh[0]);
  if (count == 0u) {
    if (lid == 0u) { finish(s, amax); }
    return;
  }
  // Without top-k or top-p nothing sorts the candidates, and the draw walks them in vocabulary
  // order, as llama.cpp's dist sampler walks an unsorted array: by chunk mass, then inside the
  // chunk, on one invocation (about 2√vocab steps, no select or sort).
  ${v.ranked ? 'if (st.topK == 0u && st.topP >= 1.0) {' : '{'}
    if (lid == 0u) { finish(s, draw_in_order(base, ch, nch, rng_uniform(st.seed, st.counter))); }
    return;
  }
${v.ranked ? sampleRankDraw(MASS) : ''}}
`;
}
