import { weightLayout } from './layout.js';
import { blockWords, IQ4_VALUES, isFloatType, WEIGHT_TYPES, type WeightType } from './types.js';

/** WGSL type of a weight binding: float rows as vec4s, F16/BF16 as pairs of packed halves, blocks as words. */
export function weightBindingType(type: WeightType): string {
  if (type === 'f32') return 'array<vec4f>';
  if (type === 'f16' || type === 'bf16') return 'array<vec2u>';
  return 'array<u32>';
}

/** Helpers every block reader uses, over a `W: array<u32>` binding; emit once per shader. */
export function quantPrelude(): string {
  return `fn b4(u: u32) -> vec4u { return vec4u(u, u >> 8u, u >> 16u, u >> 24u); }
fn w_half(i: u32) -> f32 { return unpack2x16float(W[i >> 1u])[i & 1u]; }
fn k4_byte(o: u32, i: u32) -> u32 { return (W[o + 1u + (i >> 2u)] >> (8u * (i & 3u))) & 255u; }
fn k4_scale_min(o: u32, s: u32) -> vec2f {
  if (s < 4u) { return vec2f(f32(k4_byte(o, s) & 63u), f32(k4_byte(o, s + 4u) & 63u)); }
  let a = k4_byte(o, s + 4u);
  return vec2f(f32((a & 15u) | ((k4_byte(o, s - 4u) >> 6u) << 4u)), f32((a >> 4u) | ((k4_byte(o, s) >> 6u) << 4u)));
}
const IQ4 = array<f32, 16>(${IQ4_VALUES.map((v) => `${v}.0`).join(', ')});
fn iq4(n: vec4u) -> vec4f { return vec4f(IQ4[n.x], IQ4[n.y], IQ4[n.z], IQ4[n.w]); }`;
}

/**
 * The two readers of a block type, named after it:
 * - `<t>_q(o, j) -> vec4f`: elements 4j..4j+3 of the block whose words start at `o`, as the
 *   integers (or IQ4 code values) before their group's scale;
 * - `<t>_g(o, dh, s) -> vec2f`: (scale, offset) of group s of that block, whose `d` (for types
 *   that move it out) is half `dh` of W: element = scale · q + offset.
 * Bit positions follow ggml's `dequantize_row_*` (see reference.ts for the same in TS).
 */
export function blockFns(type: WeightType): string {
  const q = (body: string) => `fn ${type}_q(o: u32, j: u32) -> vec4f {\n  ${body}\n}`;
  const g = (body: string) => `fn ${type}_g(o: u32, dh: u32, s: u32) -> vec2f {\n  ${body}\n}`;
  const dOnly = g('return vec2f(w_half(dh), 0.0);');
  const nib = (at: string) => `let u = W[o + ${at}(j & 3u)] >> ((j >> 2u) * 4u);`;
  switch (type) {
    case 'q8_0':
      return `${q('let u = W[o + j];\n  return vec4f(vec4i(i32(u << 24u) >> 24u, i32(u << 16u) >> 24u, i32(u << 8u) >> 24u, i32(u) >> 24u));')}
${dOnly}`;
    case 'q4_0':
      return `${q(`${nib('')}\n  return vec4f(b4(u) & vec4u(15u)) - vec4f(8.0);`)}\n${dOnly}`;
    case 'iq4_nl':
      return `${q(`${nib('')}\n  return iq4(b4(u) & vec4u(15u));`)}\n${dOnly}`;
    case 'q4_1':
      return `${q(`${nib('1u + ')}\n  return vec4f(b4(u) & vec4u(15u));`)}\n${g('return unpack2x16float(W[o]);')}`;
    case 'q5_0':
    case 'q5_1': {
      const h = type === 'q5_0' ? '0u' : '1u';
      const qs = type === 'q5_0' ? '1u + ' : '2u + ';
      const bias = type === 'q5_0' ? ' - vec4f(16.0)' : '';
      return `${q(`${nib(qs)}
  let h = W[o + ${h}] >> (4u * j);
  return vec4f((b4(u) & vec4u(15u)) | ((vec4u(h, h >> 1u, h >> 2u, h >> 3u) & vec4u(1u)) << vec4u(4u)))${bias};`)}
${type === 'q5_0' ? dOnly : g('return unpack2x16float(W[o]);')}`;
    }
    case 'q2_k':
      return `${q(`let e = 4u * j;
  let u = W[o + 4u + 8u * (e >> 7u) + 4u * ((e >> 4u) & 1u) + ((e & 15u) >> 2u)] >> (2u * ((e >> 5u) & 3u));
  return vec4f(b4(u) & vec4u(3u));`)}
${g(`let sc = (W[o + (s >> 2u)] >> (8u * (s & 3u))) & 255u;
  let dm = unpack2x16float(W[o + 20u]);
  return vec2f(dm.x * f32(sc & 15u), -dm.y * f32(sc >> 4u));`)}`;
    case 'q3_k':
      return `${q(`let e = 4u * j;
  let n = e >> 7u;
  let jj = (e >> 5u) & 3u;
  let k = e & 31u;
  let u = W[o + 8u + 8u * n + (k >> 2u)] >> (2u * jj);
  let hm = b4(W[o + (k >> 2u)] >> (4u * n + jj)) & vec4u(1u);
  return vec4f(b4(u) & vec4u(3u)) - 4.0 * (vec4f(1.0) - vec4f(hm));`)}
${g(`let w = s >> 2u;
  let bs = 8u * (s & 3u);
  let a = select(W[o + 24u], W[o + 25u], (w & 1u) == 1u);
  let lo = (a >> (bs + 4u * (w >> 1u))) & 15u;
  let hi = (W[o + 26u] >> (bs + 2u * w)) & 3u;
  return vec2f(w_half(dh) * (f32(lo | (hi << 4u)) - 32.0), 0.0);`)}`;
    case 'q4_k':
    case 'q5_k': {
      const qs = type === 'q4_k' ? '4u' : '12u';
      const high =
        type === 'q5_k'
          ? `\n  let hb = b4(W[o + 4u + ((l & 31u) >> 2u)] >> (2u * (e >> 6u) + (l >> 5u))) & vec4u(1u);\n  return vec4f((b4(u) & vec4u(15u)) + hb * 16u);`
          : '\n  return vec4f(b4(u) & vec4u(15u));';
      return `${q(`let e = 4u * j;
  let l = e & 63u;
  let u = W[o + ${qs} + 8u * (e >> 6u) + ((l & 31u) >> 2u)] >> ((l >> 5u) * 4u);${high}`)}
${g(`let sm = k4_scale_min(o, s);
  let dm = unpack2x16float(W[o]);
  return vec2f(dm.x * sm.x, -dm.y * sm.y);`)}`;
    }
    case 'q6_k':
      return `${q(`let e = 4u * j;
  let n = e >> 7u;
  let k = (e >> 5u) & 3u;
  let l = e & 31u;
  let lo = b4(W[o + 16u * n + 8u * (k & 1u) + (l >> 2u)] >> (4u * (k >> 1u))) & vec4u(15u);
  let hi = b4(W[o + 32u + 8u * n + (l >> 2u)] >> (2u * k)) & vec4u(3u);
  return vec4f(lo | (hi << vec4u(4u))) - vec4f(32.0);`)}
${g(`let sc = i32(W[o + 48u + (s >> 2u)] << (24u - 8u * (s & 3u))) >> 24u;
  return vec2f(w_half(dh) * f32(sc), 0.0);`)}`;
    case 'iq4_xs':
      return `${q(`let e = 4u * j;
  let jj = e & 31u;
  let u = W[o + 2u + 4u * (e >> 5u) + ((jj & 15u) >> 2u)] >> (4u * (jj >> 4u));
  return iq4(b4(u) & vec4u(15u));`)}
${g(`let w0 = W[o];
  let ls = ((W[o + 1u] >> (8u * (s >> 1u) + 4u * (s & 1u))) & 15u) | (((w0 >> (16u + 2u * s)) & 3u) << 4u);
  return vec2f(unpack2x16float(w0).x * (f32(ls) - 32.0), 0.0);`)}`;
    default:
      return '';
  }
}

/** Compile-time constants of a block type: group size, quads per group, groups per block, words per block. */
export function blockConsts(type: WeightType) {
  const i = WEIGHT_TYPES[type];
  return {
    GS: i.group,
    QPG: i.group / 4,
    GPB: i.blockElems / i.group,
    BE: i.blockElems,
    BW: blockWords(type),
  };
}

/**
 * How a fused kernel's shader sees its weight buffer `W`: as words, or (when every matrix in it
 * is f32, or every one f16/bf16) as the whole quads or half-quads the float readers want. On a
 * CPU emulator every load is a per-lane gather with its own index, clamp and bounds check, so
 * one vec4 load in place of four word loads is most of a float matvec's cost (measured ~20 %
 * less CPU time on a stories15M classifier on SwiftShader).
 */
export type PackedView = 'u32' | 'vec4f' | 'vec2u';

/** The widest view all of these types can be read through. */
export function packedView(types: readonly WeightType[]): PackedView {
  if (types.every((t) => t === 'f32')) return 'vec4f';
  if (types.every((t) => t === 'f16' || t === 'bf16')) return 'vec2u';
  return 'u32';
}

/** WGSL type of a `W` binding seen through `view`. */
export function packedViewType(view: PackedView): string {
  return view === 'u32' ? 'array<u32>' : `array<${view}>`;
}

/** `fn w_word(i: u32) -> u32`: word i of W whatever its view (norm weights, f32 bits). */
export function packedWordFn(view: PackedView): string {
  const at =
    view === 'u32' ? 'W[i]' : view === 'vec4f' ? 'bitcast<u32>(W[i >> 2u][i & 3u])' : 'W[i >> 1u][i & 1u]';
  return `fn w_word(i: u32) -> u32 { return ${at}; }`;
}

/**
 * A float quad of a row whose first word is `rb` (`rb` in units of the view's element: quads
 * for vec4f, half-quads for vec2u, words for u32).
 */
function floatQuad(type: WeightType, rb: string, q: string, view: PackedView): string {
  if (type === 'f32') {
    if (view === 'vec4f') return `W[${rb} + ${q}]`;
    const w = `${rb} + 4u * ${q}`;
    return `bitcast<vec4f>(vec4u(W[${w}], W[${w} + 1u], W[${w} + 2u], W[${w} + 3u]))`;
  }
  const pair =
    view === 'vec2u' ? `W[${rb} + ${q}]` : `vec2u(W[${rb} + 2u * ${q}], W[${rb} + 2u * ${q} + 1u])`;
  return type === 'f16' ? `vec4f(unpack2x16float(${pair}.x), unpack2x16float(${pair}.y))` : `bf16x4(${pair})`;
}

const BF16 =
  'fn bf16x4(v: vec2u) -> vec4f { return bitcast<vec4f>(vec4u(v.x << 16u, v.x & 0xffff0000u, v.y << 16u, v.y & 0xffff0000u)); }';

/**
 * Readers over a weight binding `W` typed by {@link weightBindingType}, for the general
 * kernels, reading `P.cols` and `P.wScale` (the layout's scaleBase) from their uniforms:
 * float types get `w_quad(row, q)`; every type gets `w_elem(row, c)`, one dequantized element.
 */
export function weightFns(type: WeightType): string {
  switch (type) {
    case 'f32':
      return `fn w_quad(row: u32, q: u32) -> vec4f { return W[row * ((P.cols + 3u) / 4u) + q]; }
fn w_elem(row: u32, c: u32) -> f32 { return w_quad(row, c / 4u)[c % 4u]; }`;
    case 'f16':
    case 'bf16':
      return `${BF16}
fn w_quad(row: u32, q: u32) -> vec4f {
  let v = W[row * ((P.cols + 3u) / 4u) + q];
  return ${type === 'f16' ? 'vec4f(unpack2x16float(v.x), unpack2x16float(v.y))' : 'bf16x4(v)'};
}
fn w_elem(row: u32, c: u32) -> f32 { return w_quad(row, c / 4u)[c % 4u]; }`;
  }
  const k = blockConsts(type);
  return `${quantPrelude()}
${blockFns(type)}
const GS = ${k.GS}u;
const QPG = ${k.QPG}u;
const GPB = ${k.GPB}u;
const BE = ${k.BE}u;
const BW = ${k.BW}u;
// Words of a row's blocks, and of its d halves (rounded up to whole words).
fn w_rw() -> u32 { return (P.cols / BE) * BW; }
fn w_drw() -> u32 { return ${WEIGHT_TYPES[type].dSplit ? '(P.cols / BE + 1u) / 2u' : '0u'}; }
// Block b of a row: its first word, and the half index of its d.
fn w_block(row: u32, b: u32) -> u32 { return row * w_rw() + b * BW; }
fn w_dh(row: u32, b: u32) -> u32 { return 2u * (P.wScale + row * w_drw()) + b; }
fn w_elem(row: u32, c: u32) -> f32 {
  let b = c / BE;
  let o = w_block(row, b);
  let gs = ${type}_g(o, w_dh(row, b), (c % BE) / GS);
  return ${type}_q(o, (c % BE) / 4u)[c % 4u] * gs.x + gs.y;
}`;
}

export { isQuantized } from './types.js';

/**
 * `fn <t>_qi(o, j) -> u32`: the same four quants as `<t>_q` (every block type's fit in int8:
 * IQ4's code values are −127…113), packed as int8 bytes for `dot4I8Packed`. Q8_0's words are
 * already that; the others convert the block reader's values.
 */
export function intQuadFn(type: WeightType): string {
  const fn = (body: string) => `fn ${type}_qi(o: u32, j: u32) -> u32 {\n  ${body}\n}`;
  // The commonest types, as bytes straight from the bits (no round trip through f32).
  switch (type) {
    case 'q8_0':
      return fn('return W[o + j];');
    case 'q4_1':
      return fn('return (W[o + 1u + (j & 3u)] >> ((j >> 2u) * 4u)) & 0x0f0f0f0fu;');
    case 'q4_k':
      return fn(`let e = 4u * j;
  let l = e & 63u;
  return (W[o + 4u + 8u * (e >> 6u) + ((l & 31u) >> 2u)] >> ((l >> 5u) * 4u)) & 0x0f0f0f0fu;`);
    case 'q4_0':
      // n − 8 per byte: n ^ 8 is its low nibble; bit 3 of that is its sign, spread by 0x08 · 30 = 0xf0.
      return fn(`let t = ((W[o + (j & 3u)] >> ((j >> 2u) * 4u)) & 0x0f0f0f0fu) ^ 0x08080808u;
  return t | ((t & 0x08080808u) * 30u);`);
    case 'q6_k':
      // (lo | hi << 4) − 32 per byte, the same sign spread on bit 5 (0x20 · 6 = 0xc0).
      return fn(`let e = 4u * j;
  let n = e >> 7u;
  let k = (e >> 5u) & 3u;
  let l = e & 31u;
  let lo = (W[o + 16u * n + 8u * (k & 1u) + (l >> 2u)] >> (4u * (k >> 1u))) & 0x0f0f0f0fu;
  let hi = (W[o + 32u + 8u * n + (l >> 2u)] >> (2u * k)) & 0x03030303u;
  let t = (lo | (hi << 4u)) ^ 0x20202020u;
  return t | ((t & 0x20202020u) * 6u);`);
  }
  return `fn ${type}_qi(o: u32, j: u32) -> u32 {
  let v = vec4u(vec4i(${type}_q(o, j))) & vec4u(255u);
  return v.x | (v.y << 8u) | (v.z << 16u) | (v.w << 24u);
}`;
}

/**
 * `fn <name>(row0, base, sbase) -> vec4f`: rows row0..row0+R-1 (R = `rpt` ≤ 4, or up to 8 as
 * the two columns of a `mat2x4f`; rows past
 * the WGSL expression `last` read row `last`, for the caller to drop) of a `cols`-wide matrix in the pack (data
 * from word `base`, `d` halves from word `sbase`), each dotted with the activations read as
 * vec4s through `x4(i)` from vec4 `xo` on. Needs {@link packedPrelude} once in the shader.
 * Written for CPU emulators, whose JIT does little optimisation and pays for every load: row
 * addresses are computed once, a group's activations are loaded once for R rows, and group
 * offsets (types with a min) multiply the group's activation sum, not each element. `view` is
 * how the shader declares W ({@link packedView}): float rows read whole quads through a wide view.
 */
export function packedDotFn(
  name: string,
  type: WeightType,
  cols: number,
  last: string,
  xo: string,
  rpt: number,
  view: PackedView = 'u32',
): string {
  const K = [...Array(rpt).keys()];
  const lay = weightLayout(type, 1, cols);
  const rowWords = lay.rowWords;
  const accs = K.map((k) => `var a${k} = 0.0;`).join(' ');
  const quad = (from: number) =>
    `vec4f(${[0, 1, 2, 3].map((k) => (from + k < rpt ? `a${from + k}` : '0.0')).join(', ')})`;
  const out = rpt > 4 ? `mat2x4f(${quad(0)}, ${quad(4)})` : quad(0);
  let loop: string;
  let rowsDecl: string;
  if (isFloatType(type)) {
    // In view elements: `base` is a word index on a 64-word boundary, rows are whole quads.
    const per = view === 'vec4f' ? 4 : view === 'vec2u' ? 2 : 1;
    const b0 = per === 1 ? 'base' : `base / ${per}u`;
    rowsDecl = K.map(
      (k) => `let r${k} = min(row0 + ${k}u, ${last}); let rb${k} = ${b0} + r${k} * ${rowWords / per}u;`,
    ).join('\n  ');
    loop = `for (var q = 0u; q < ${Math.ceil(cols / 4)}u; q++) {
    let x = x4(${xo} + q);
    ${K.map((k) => `a${k} += dot(${floatQuad(type, `rb${k}`, 'q', view)}, x);`).join('\n    ')}
  }`;
  } else {
    if (view !== 'u32') throw new TypeError(`${type} rows are read through a u32 view, not ${view}`);
    const c = blockConsts(type);
    const ng = cols / c.GS;
    const drw = lay.scaleRowWords;
    rowsDecl = K.map(
      (k) =>
        `let r${k} = min(row0 + ${k}u, ${last}); let rb${k} = base + r${k} * ${rowWords}u; let dh${k} = 2u * (sbase + r${k} * ${drw}u);`,
    ).join('\n  ');
    const QI = [...Array(c.QPG).keys()];
    const hasMin = WEIGHT_TYPES[type].hasMin;
    loop = `for (var g = 0u; g < ${ng}u; g++) {
    let b = g / ${c.GPB}u;
    let s = g % ${c.GPB}u;
    let j = s * ${c.QPG}u;
    let x = ${xo} + g * ${c.QPG}u;
    ${QI.map((i) => `let v${i} = x4(x + ${i}u);`).join(' ')}
    ${hasMin ? `let sx = dot(${QI.map((i) => `v${i}`).join(' + ')}, vec4f(1.0));` : ''}
    ${K.map(
      (k) => `{
      let o = rb${k} + b * ${c.BW}u;
      let gs = ${type}_g(o, dh${k} + b, s);
      a${k} += gs.x * (${QI.map((i) => `dot(${type}_q(o, j + ${i}u), v${i})`).join(' + ')})${hasMin ? ' + gs.y * sx' : ''};
    }`,
    ).join('\n    ')}
  }`;
  }
  return `fn ${name}(row0: u32, base: u32, sbase: u32) -> ${rpt > 4 ? 'mat2x4f' : 'vec4f'} {
  ${rowsDecl}
  ${accs}
  ${loop}
  return ${out};
}`;
}

/** Everything {@link packedDotFn}s of these types need, each helper once (W: array<u32>). */
export function packedPrelude(types: readonly WeightType[]): string {
  const set = [...new Set(types)];
  const parts: string[] = [];
  if (set.some((t) => !isFloatType(t))) parts.push(quantPrelude());
  if (set.includes('bf16')) parts.push(BF16);
  for (const t of set) parts.push(blockFns(t));
  return parts.filter(Boolean).join('\n');
}
