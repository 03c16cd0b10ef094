// The row dot products of every block type, generated as WAT: one function per type that sums
// a row of weights in ggml's own block layout against activations quantized as llama.cpp's
// (int8 values in int16 lanes, one f32 scale per 32 (xd) and a sum per 16 (xs, for the types
// whose blocks carry a min): see activations.ts). Decoding a block to int16 lanes, the integer dot (i32x4.dot_i16x8_s) and
// the scale product are unrolled per block here, so the engine sees straight-line SIMD code.
// The formulas follow ggml's dequantize_row_* (ggml-quants.c); each comment names the block.

import {
  accumulate,
  add4,
  and,
  bytes16,
  dot16,
  f16,
  f32Load,
  get,
  i32,
  load,
  mul,
  or,
  set,
  shift8,
  tok,
  widen,
  withToken,
} from './wat.js';

/** A statement of a block body: weight-side text, emitted once, or per-token (see `each`). */
type Item = string | (() => string);
/** Marks statements that read activations: emitted once per token of the dot. */
const each = (f: () => string): Item => f;

/** What the generator knows about a type: its ggml block and how a block's body is summed. */
export interface QuantDot {
  name: string;
  blockSize: number;
  blockBytes: number;
  body: () => Item[];
}

const W = get('w');
const XD = (i: number) => f32Load(get(tok('xd')), 4 * i);
const XS = (i: number) => f32Load(get(tok('xs')), 4 * i);
const sub8 = (v: string, k: number) => `(i8x16.sub ${v} ${bytes16(k)})`;
const nib = (v: string) => and(v, bytes16(0x0f));
const hiNib = (v: string) => shift8(v, -4);
const u8 = (offset: number) => `(i32.load8_u offset=${offset} ${W})`;
const s8 = (offset: number) => `(i32.load8_s offset=${offset} ${W})`;
const fi = (x: string) => `(f32.convert_i32_s ${x})`;
/** accm += x (the min / offset terms, summed apart from the integer products). */
const accm = (x: string) => set(tok('accm'), `(f32.add ${get(tok('accm'))} ${x})`);

// kvalues_iq4nl: the non-linear 4-bit grid of IQ4_NL and IQ4_XS
const IQ4_GRID = '(v128.const i8x16 -127 -104 -83 -65 -49 -35 -22 -10 1 13 25 38 53 69 89 113)';
const grid = (v: string) => `(i8x16.swizzle ${IQ4_GRID} ${v})`;

/** Two nibble vectors t (low: elements 0..15) and u (high: 16..31) of one 32-block, summed. */
const dot32 = (xqOffset: number) => add4(dot16('t', xqOffset), dot16('u', xqOffset + 16 * 2));

/** Q4_0: d, qs[16]; x = (nibble - 8)·d. IQ4_NL: d, qs[16]; x = grid[nibble]·d. */
function q4Legacy(withGrid: boolean): Item[] {
  const decode = withGrid ? grid : (v: string) => sub8(v, 8);
  return [
    f16('d', W, 0),
    set('v', load(W, 2)),
    set('t', decode(nib(get('v')))),
    set('u', decode(hiNib(get('v')))),
    ...widen('t'),
    ...widen('u'),
    each(() => accumulate(dot32(0), mul(get('d'), XD(0)))),
  ];
}

/** Q4_1: d, m, qs[16]; x = nibble·d + m. */
function q4_1(): Item[] {
  return [
    f16('d', W, 0),
    f16('dm', W, 2),
    set('v', load(W, 4)),
    set('t', nib(get('v'))),
    set('u', hiNib(get('v'))),
    ...widen('t'),
    ...widen('u'),
    each(() => accumulate(dot32(0), mul(get('d'), XD(0)))),
    each(() => accm(mul(get('dm'), `(f32.add ${XS(0)} ${XS(1)})`))),
  ];
}

// qh's 32 bits as one bit per byte: lanes 0..15 take bits 0..15, then bits 16..31
const QH_LO = '(v128.const i8x16 0 0 0 0 0 0 0 0 1 1 1 1 1 1 1 1)';
const QH_HI = '(v128.const i8x16 2 2 2 2 2 2 2 2 3 3 3 3 3 3 3 3)';
const BITS = '(v128.const i8x16 1 2 4 8 16 32 64 -128 1 2 4 8 16 32 64 -128)';
const bit16 = (idx: string) =>
  and(`(i8x16.eq ${and(`(i8x16.swizzle ${get('h')} ${idx})`, BITS)} ${BITS})`, bytes16(0x10));

/** Q5_0: d, qh[4], qs[16]; x = (nibble | bit << 4) - 16, ·d. Q5_1: d, m, qh, qs; x·d + m. */
function q5Legacy(withMin: boolean): Item[] {
  const qh = withMin ? 4 : 2;
  const qs = qh + 4;
  const fin = (v: string) => (withMin ? v : sub8(v, 16));
  return [
    f16('d', W, 0),
    withMin ? f16('dm', W, 2) : '',
    set('h', `(v128.load32_zero offset=${qh} ${W})`),
    set('v', load(W, qs)),
    set('t', fin(or(nib(get('v')), bit16(QH_LO)))),
    set('u', fin(or(hiNib(get('v')), bit16(QH_HI)))),
    ...widen('t'),
    ...widen('u'),
    each(() => accumulate(dot32(0), mul(get('d'), XD(0)))),
    withMin ? each(() => accm(mul(get('dm'), `(f32.add ${XS(0)} ${XS(1)})`))) : '',
  ];
}

/** Q8_0: d, qs[32] int8. */
function q8_0(): Item[] {
  return [
    f16('d', W, 0),
    set('t', load(W, 2)),
    set('u', load(W, 18)),
    ...widen('t'),
    ...widen('u'),
    each(() => accumulate(dot32(0), mul(get('d'), XD(0)))),
  ];
}

/** Lane j (0..3) of a 32-bit-lane vector in every lane. */
const lane = (v: string, j: number) => {
  const idx = [0, 1, 2, 3].map((b) => 4 * j + b);
  return `(i8x16.shuffle ${[...idx, ...idx, ...idx, ...idx].join(' ')} ${v} ${v})`;
};
const u32x4 = (bytes: string, high: boolean, quarter: 'low' | 'high') =>
  `(i32x4.extend_${quarter}_i16x8_u (i16x8.extend_${high ? 'high' : 'low'}_i8x16_u ${bytes}))`;
const fx4 = (v: string) => `(f32x4.convert_i32x4_u ${v})`;

/**
 * Q4_K/Q5_K scales, all eight at once (ggml's get_scale_min_k4, scales at byte 4): bytes 0..7 of
 * local scv the 6-bit scales, 8..15 the mins. Then locals sc / sc2 hold d·sc_j·xd[j] for j in
 * 0..3 / 4..7, and the mins' whole term -dmin·Σ m_j·(xs[2j] + xs[2j+1]) goes into acc at once.
 */
function scalesK4(): Item[] {
  const v = load(W, 4);
  // lanes 0-3: s[0..3], 4-7: s[8..11], 8-11: s[4..7], 12-15: s[8..11]
  const a = `(i8x16.swizzle ${get('v')} (v128.const i8x16 0 1 2 3 8 9 10 11 4 5 6 7 8 9 10 11))`;
  // the bytes whose top two bits complete lanes 4-7 (s[0..3]) and 12-15 (s[4..7])
  const b = `(i8x16.shl (i8x16.shr_u (i8x16.swizzle ${get('v')} (v128.const i8x16 0 0 0 0 0 1 2 3 0 0 0 0 4 5 6 7)) (i32.const 6)) (i32.const 4))`;
  const low6 = and(get('t'), bytes16(63));
  const scHi = or(and(get('t'), bytes16(15)), get('u'));
  const mHi = or(shift8(get('t'), -4), get('u'));
  const pick = '(v128.const i8x16 -1 -1 -1 -1 0 0 0 0 -1 -1 -1 -1 0 0 0 0)';
  const upper = '(v128.const i8x16 0 0 0 0 0 0 0 0 -1 -1 -1 -1 -1 -1 -1 -1)';
  const xs = (i: number) => load(get(tok('xs')), 16 * i);
  const pairs = (i: number) =>
    `(f32x4.add (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 ${xs(2 * i)} ${xs(2 * i + 1)})
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 ${xs(2 * i)} ${xs(2 * i + 1)}))`;
  const dv = `(f32x4.splat ${get('d')})`;
  return [
    set('v', v),
    set('t', a),
    set('u', b),
    set('scv', `(v128.bitselect ${low6} (v128.bitselect ${mHi} ${scHi} ${upper}) ${pick})`),
    set('sc', `(f32x4.mul ${fx4(u32x4(get('scv'), false, 'low'))} ${dv})`),
    set('sc2', `(f32x4.mul ${fx4(u32x4(get('scv'), false, 'high'))} ${dv})`),
    set('h0', fx4(u32x4(get('scv'), true, 'low'))),
    set('h1', fx4(u32x4(get('scv'), true, 'high'))),
    each(() => set(tok('fs'), `(f32x4.mul ${get('sc')} ${load(get(tok('xd')), 0)})`)),
    each(() => set(tok('fs2'), `(f32x4.mul ${get('sc2')} ${load(get(tok('xd')), 16)})`)),
    each(() =>
      set(
        tok('acc'),
        `(f32x4.sub ${get(tok('acc'))} (f32x4.mul (f32x4.splat ${get('dm')})
        (f32x4.add (f32x4.mul ${get('h0')} ${pairs(0)}) (f32x4.mul ${get('h1')} ${pairs(1)}))))`,
      ),
    ),
  ];
}

/**
 * Q4_K: d, dmin, scales[12], qs[128]; sub-block j of 32: x = d·sc_j·q - dmin·m_j, q the low
 * (even j) or high (odd j) nibbles of the 32 bytes at 32·⌊j/2⌋. Q5_K adds qh[32] before qs: bit
 * j of qh[l] is the fifth bit of element l of sub-block j.
 */
function qK45(five: boolean): Item[] {
  const qs = five ? 48 : 16;
  const out: Item[] = [f16('d', W, 0), f16('dm', W, 2), ...scalesK4()];
  if (five) out.push(set('h', load(W, 16)), set('h2', load(W, 32)));
  for (let j = 0; j < 8; j++) {
    const c = j >> 1;
    if ((j & 1) === 0) out.push(set('v', load(W, qs + 32 * c)), set('v2', load(W, qs + 32 * c + 16)));
    const pick = (v: string) => ((j & 1) === 0 ? nib(get(v)) : hiNib(get(v)));
    const hb = (h: string) => and(shift8(get(h), 4 - j), bytes16(0x10));
    out.push(
      set('t', five ? or(pick('v'), hb('h')) : pick('v')),
      set('u', five ? or(pick('v2'), hb('h2')) : pick('v2')),
      ...widen('t'),
      ...widen('u'),
      each(() =>
        set(
          tok('acc'),
          `(f32x4.add ${get(tok('acc'))} (f32x4.mul (f32x4.convert_i32x4_s ${dot32(64 * j)}) ${lane(get(tok(j < 4 ? 'fs' : 'fs2')), j & 3)}))`,
        ),
      ),
    );
  }
  return out;
}

/**
 * Q6_K: ql[128], qh[64], scales[16] int8, d. Half n (128 values): ql at 64n, qh at 128 + 32n;
 * group g of 32 takes low (g = 0, 1) or high (g = 2, 3) nibbles of ql[0..31] (even g) or
 * ql[32..63] (odd g) and bits 2g..2g+1 of qh, minus 32; each 16 has its own scale.
 */
function q6K(): Item[] {
  const out: Item[] = [f16('d', W, 208)];
  for (let n = 0; n < 2; n++) {
    out.push(
      set('a0', load(W, 64 * n)),
      set('a1', load(W, 64 * n + 16)),
      set('b0', load(W, 64 * n + 32)),
      set('b1', load(W, 64 * n + 48)),
      set('h0', load(W, 128 + 32 * n)),
      set('h1', load(W, 144 + 32 * n)),
    );
    for (let g = 0; g < 4; g++) {
      const parts: (() => string)[] = [];
      for (let h = 0; h < 2; h++) {
        const ql = get(`${g & 1 ? 'b' : 'a'}${h}`);
        const low = g < 2 ? nib(ql) : hiNib(ql);
        const high = and(shift8(get(`h${h}`), 4 - 2 * g), bytes16(0x30));
        const tmp = h === 0 ? 't' : 'u';
        const sc = h === 0 ? 'sc' : 'sc2';
        out.push(set(tmp, sub8(or(low, high), 32)), set(sc, `(i16x8.splat ${s8(192 + 8 * n + 2 * g + h)})`));
        out.push(...widen(tmp, sc));
        parts.push(() => dot16(tmp, 2 * (128 * n + 32 * g + 16 * h)));
      }
      out.push(each(() => accumulate(add4(parts[0]!(), parts[1]!()), mul(get('d'), XD(4 * n + g)))));
    }
  }
  return out;
}

/**
 * Q3_K: hmask[32], qs[64], scales[12] (16 6-bit values, offset 32), d. Half n: qs at 32 + 32n;
 * group j of 32 takes bits 2j..2j+1 of qs[0..31] and bit 4n + j of hmask, minus 4 when that bit
 * is clear; each 16 has its own scale.
 */
function q3K(): Item[] {
  const aux = (k: number) => `(i32.load offset=${96 + 4 * k} ${W})`;
  const low = (x: string) => `(i32.and ${x} (i32.const 0x0f0f0f0f))`;
  const top = (k: number) =>
    `(i32.shl (i32.and (i32.shr_u ${aux(2)} (i32.const ${k})) (i32.const 0x03030303)) (i32.const 4))`;
  const s = [
    `(i32.or ${low(aux(0))} ${top(0)})`,
    `(i32.or ${low(aux(1))} ${top(2)})`,
    `(i32.or ${low(`(i32.shr_u ${aux(0)} (i32.const 4))`)} ${top(4)})`,
    `(i32.or ${low(`(i32.shr_u ${aux(1)} (i32.const 4))`)} ${top(6)})`,
  ];
  const scv = `(i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 (i32x4.splat ${s[0]}) ${s[1]}) ${s[2]}) ${s[3]})`;
  const out: Item[] = [
    f16('d', W, 108),
    set('scv', sub8(scv, 32)),
    set('h0', load(W, 0)),
    set('h1', load(W, 16)),
  ];
  for (let n = 0; n < 2; n++) {
    out.push(set('a0', load(W, 32 + 32 * n)), set('a1', load(W, 48 + 32 * n)));
    for (let j = 0; j < 4; j++) {
      const parts: (() => string)[] = [];
      for (let h = 0; h < 2; h++) {
        const lo2 = and(shift8(get(`a${h}`), -2 * j), bytes16(3));
        const hb = and(shift8(get(`h${h}`), 2 - (4 * n + j)), bytes16(4));
        const tmp = h === 0 ? 't' : 'u';
        const sc = h === 0 ? 'sc' : 'sc2';
        out.push(
          set(tmp, sub8(or(lo2, hb), 4)),
          set(sc, `(i16x8.splat (i8x16.extract_lane_s ${8 * n + 2 * j + h} ${get('scv')}))`),
        );
        out.push(...widen(tmp, sc));
        parts.push(() => dot16(tmp, 2 * (128 * n + 32 * j + 16 * h)));
      }
      out.push(each(() => accumulate(add4(parts[0]!(), parts[1]!()), mul(get('d'), XD(4 * n + j)))));
    }
  }
  return out;
}

/**
 * Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Half n: qs at 16 + 32n;
 * group j of 32 takes bits 2j..2j+1 of qs[0..31]; x = d·sc·q - dmin·m per 16.
 */
function q2K(): Item[] {
  const out: Item[] = [f16('d', W, 80), f16('dm', W, 82), each(() => set(tok('ms'), '(f32.const 0)'))];
  for (let n = 0; n < 2; n++) {
    out.push(set('a0', load(W, 16 + 32 * n)), set('a1', load(W, 32 + 32 * n)));
    for (let j = 0; j < 4; j++) {
      const parts: (() => string)[] = [];
      for (let h = 0; h < 2; h++) {
        const k = 8 * n + 2 * j + h;
        const tmp = h === 0 ? 't' : 'u';
        const sc = h === 0 ? 'sc' : 'sc2';
        out.push(
          set(tmp, and(shift8(get(`a${h}`), -2 * j), bytes16(3))),
          set(sc, `(i16x8.splat (i32.and ${u8(k)} (i32.const 15)))`),
          each(() =>
            set(
              tok('ms'),
              `(f32.add ${get(tok('ms'))} ${mul(fi(`(i32.shr_u ${u8(k)} (i32.const 4))`), XS(k))})`,
            ),
          ),
        );
        out.push(...widen(tmp, sc));
        parts.push(() => dot16(tmp, 2 * (128 * n + 32 * j + 16 * h)));
      }
      out.push(each(() => accumulate(add4(parts[0]!(), parts[1]!()), mul(get('d'), XD(4 * n + j)))));
    }
  }
  out.push(each(() => accm(`(f32.neg ${mul(get('dm'), get(tok('ms')))})`)));
  return out;
}

/** IQ4_XS: d, scales_h (u16), scales_l[4], qs[128]; sub-block ib: grid[nibble]·d·(ls - 32). */
function iq4XS(): Item[] {
  const out: Item[] = [f16('d', W, 0)];
  for (let ib = 0; ib < 8; ib++) {
    const lo = `(i32.and (i32.shr_u ${u8(4 + (ib >> 1))} (i32.const ${4 * (ib & 1)})) (i32.const 15))`;
    const hi = `(i32.shl (i32.and (i32.shr_u (i32.load16_u offset=2 ${W}) (i32.const ${2 * ib})) (i32.const 3)) (i32.const 4))`;
    const ls = `(i32.sub (i32.or ${lo} ${hi}) (i32.const 32))`;
    out.push(
      set('v', load(W, 8 + 16 * ib)),
      set('t', grid(nib(get('v')))),
      set('u', grid(hiNib(get('v')))),
      ...widen('t'),
      ...widen('u'),
      each(() => accumulate(dot32(64 * ib), mul(get('d'), fi(ls), XD(ib)))),
    );
  }
  return out;
}

/** Every block type the CPU kernels run, by ggml name. */
export const QUANT_DOTS: QuantDot[] = [
  { name: 'Q4_0', blockSize: 32, blockBytes: 18, body: () => q4Legacy(false) },
  { name: 'IQ4_NL', blockSize: 32, blockBytes: 18, body: () => q4Legacy(true) },
  { name: 'Q4_1', blockSize: 32, blockBytes: 20, body: q4_1 },
  { name: 'Q5_0', blockSize: 32, blockBytes: 22, body: () => q5Legacy(false) },
  { name: 'Q5_1', blockSize: 32, blockBytes: 24, body: () => q5Legacy(true) },
  { name: 'Q8_0', blockSize: 32, blockBytes: 34, body: q8_0 },
  { name: 'Q2_K', blockSize: 256, blockBytes: 84, body: q2K },
  { name: 'Q3_K', blockSize: 256, blockBytes: 110, body: q3K },
  { name: 'Q4_K', blockSize: 256, blockBytes: 144, body: () => qK45(false) },
  { name: 'Q5_K', blockSize: 256, blockBytes: 176, body: () => qK45(true) },
  { name: 'Q6_K', blockSize: 256, blockBytes: 210, body: q6K },
  { name: 'IQ4_XS', blockSize: 256, blockBytes: 136, body: iq4XS },
];

const LOCALS = [
  '(local $end i32) (local $hh i32) (local $em i32) (local $d f32) (local $dm f32) (local $r f32) (local $o i32)',
  '(local $v v128) (local $v2 v128) (local $t v128) (local $u v128) (local $h v128) (local $h2 v128)',
  '(local $sc v128) (local $sc2 v128) (local $scv v128) (local $tl v128) (local $th v128) (local $ul v128) (local $uh v128)',
  '(local $a0 v128) (local $a1 v128) (local $b0 v128) (local $b1 v128) (local $h0 v128) (local $h1 v128)',
].join('\n    ');

const tokenLocals = (k: number) =>
  `(local $xq${k} i32) (local $xd${k} i32) (local $xs${k} i32) (local $acc${k} v128) (local $accm${k} f32) (local $ms${k} f32) (local $fs${k} v128) (local $fs2${k} v128)`;

/** Tokens one call of `$dot<N>_<type>` sums against each decoded block: 1, and 4 for prefill. */
export const DOT_TOKENS = [1, 4] as const;

/**
 * `$dot<N>_<type>(w, xq, xd, xs, nb, xstride, dstride, sstride, out, ostride, acc)`: one row of
 * nb blocks against N tokens' quantized activations (token k's at xq + k·xstride, …), each
 * block decoded once for all N; token k's sum goes to out + k·ostride (added there when acc ≠ 0).
 */
export function quantDotWat(q: QuantDot, n: number): string {
  const ks = Array.from({ length: n }, (_, k) => k);
  const step = (name: string, bytes: number) => set(name, `(i32.add ${get(name)} ${i32(bytes)})`);
  const body = q
    .body()
    .map((item) => (typeof item === 'string' ? item : ks.map((k) => withToken(k, item)).join('\n    ')))
    .join('\n    ');
  const starts = ks.flatMap((k) => [
    set(`xq${k}`, `(i32.add ${get('xq')} (i32.mul ${i32(k)} ${get('xstride')}))`),
    set(`xd${k}`, `(i32.add ${get('xd')} (i32.mul ${i32(k)} ${get('dstride')}))`),
    set(`xs${k}`, `(i32.add ${get('xs')} (i32.mul ${i32(k)} ${get('sstride')}))`),
  ]);
  const steps = ks.flatMap((k) => [
    step(`xq${k}`, q.blockSize * 2),
    step(`xd${k}`, (q.blockSize / 32) * 4),
    step(`xs${k}`, (q.blockSize / 16) * 4),
  ]);
  const stores = ks.map(
    (k) => `${set('o', `(i32.add ${get('out')} (i32.mul ${i32(k)} ${get('ostride')}))`)}
    ${set('r', `(f32.add (call $hsum ${get(`acc${k}`)}) ${get(`accm${k}`)})`)}
    (if ${get('acc')} (then ${set('r', `(f32.add ${get('r')} (f32.load ${get('o')}))`)}))
    (f32.store ${get('o')} ${get('r')})`,
  );
  return `
  ;; ${q.name}: one row of nb blocks (${q.blockBytes} bytes per ${q.blockSize}) against ${n} token(s) of int8 activations (int16 lanes)
  (func $dot${n}_${q.name} (param $w i32) (param $xq i32) (param $xd i32) (param $xs i32) (param $nb i32)
    (param $xstride i32) (param $dstride i32) (param $sstride i32) (param $out i32) (param $ostride i32) (param $acc i32)
    ${LOCALS}
    ${ks.map(tokenLocals).join('\n    ')}
    ${starts.join('\n    ')}
    ${set('end', `(i32.add ${W} (i32.mul ${get('nb')} ${i32(q.blockBytes)}))`)}
    (block $done
      (loop $blk
        (br_if $done (i32.ge_u ${W} ${get('end')}))
    ${body}
        ${step('w', q.blockBytes)}
        ${steps.join('\n        ')}
        (br $blk)))
    ${stores.join('\n    ')})`;
}
