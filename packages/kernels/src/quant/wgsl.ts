import type { WeightType } from './layout.js';

/** WGSL type of a weight binding: float rows as vec4s, F16 as pairs of packed halves, quants as words. */
export function weightBindingType(type: WeightType): string {
  if (type === 'f32') return 'array<vec4f>';
  if (type === 'f16') return 'array<vec2u>';
  return 'array<u32>';
}

/**
 * Dequantization helpers over the binding `W`, reading `P.cols` and `P.wScale` (the layout's
 * scaleBase) from the kernel's uniforms:
 * - `w_quad(row, q)`: elements 4q..4q+3 of a row, before the block scale;
 * - `w_scale(row, b)`: the scale of block b (32 elements), 1 for float types;
 * - `w_elem(row, c)`: one element, dequantized.
 * Unpacking uses only core WGSL (`unpack2x16float`, shifts), so F16 weights work without
 * `shader-f16`: they are widened to f32 in registers.
 */
export function weightFns(type: WeightType): string {
  const elem = `fn w_elem(row: u32, c: u32) -> f32 { return w_quad(row, c / 4u)[c % 4u] * w_scale(row, c / 32u); }`;
  switch (type) {
    case 'f32':
      return `fn w_quad(row: u32, q: u32) -> vec4f { return W[row * ((P.cols + 3u) / 4u) + q]; }
fn w_scale(row: u32, b: u32) -> f32 { return 1.0; }
${elem}`;
    case 'f16':
      return `fn w_quad(row: u32, q: u32) -> vec4f {
  let v = W[row * ((P.cols + 3u) / 4u) + q];
  return vec4f(unpack2x16float(v.x), unpack2x16float(v.y));
}
fn w_scale(row: u32, b: u32) -> f32 { return 1.0; }
${elem}`;
    case 'q8_0':
      return `fn w_quad(row: u32, q: u32) -> vec4f {
  let u = W[row * (P.cols / 4u) + q];
  return vec4f(vec4i(i32(u << 24u) >> 24u, i32(u << 16u) >> 24u, i32(u << 8u) >> 24u, i32(u) >> 24u));
}
fn w_scale(row: u32, b: u32) -> f32 { return bitcast<f32>(W[P.wScale + row * (P.cols / 32u) + b]); }
${elem}`;
    case 'q4_0':
      // Quad j of a block: j < 4 are the low nibbles of word j, j >= 4 the high nibbles of word j - 4.
      return `fn w_quad(row: u32, q: u32) -> vec4f {
  let j = q % 8u;
  let s = W[row * (P.cols / 8u) + (q / 8u) * 4u + (j & 3u)] >> ((j >> 2u) * 4u);
  return vec4f(vec4u(s, s >> 8u, s >> 16u, s >> 24u) & vec4u(15u)) - vec4f(8.0);
}
fn w_scale(row: u32, b: u32) -> f32 { return bitcast<f32>(W[P.wScale + row * (P.cols / 32u) + b]); }
${elem}`;
  }
}

export function isQuantized(type: WeightType): boolean {
  return type === 'q8_0' || type === 'q4_0';
}

/**
 * `fn <name>(row0, base, sbase) -> vec4f`: rows row0..row0+R-1 (R = `rpt` ≤ 4; rows past
 * the WGSL expression `last` read row `last`, for the caller to drop) of a `cols`-wide matrix in the pack (data
 * from word `base`, block scales from word `sbase`), each dotted with the activations read as
 * vec4s through `x4(i)` from vec4 `xo` on. Written for CPU emulators, whose JIT does little
 * optimisation and pays for every load: row addresses are computed once, blocks are unrolled,
 * and each activation vec4 is loaded once for R rows.
 */
export function packedDotFn(
  name: string,
  type: WeightType,
  cols: number,
  last: string,
  xo: string,
  rpt: number,
): string {
  const K = [...Array(rpt).keys()];
  const i8 = (u: string) =>
    `vec4f(vec4i(i32(${u} << 24u) >> 24u, i32(${u} << 16u) >> 24u, i32(${u} << 8u) >> 24u, i32(${u}) >> 24u))`;
  const nib = (u: string) =>
    `(vec4f(vec4u(${u}, ${u} >> 8u, ${u} >> 16u, ${u} >> 24u) & vec4u(15u)) - vec4f(8.0))`;
  const quant = type === 'q8_0' || type === 'q4_0';
  const nb = cols / 32;
  const quads = Math.ceil(cols / 4);
  const rowWords =
    type === 'q8_0' ? cols / 4 : type === 'q4_0' ? cols / 8 : type === 'f32' ? quads * 4 : quads * 2;
  const rowsDecl = K.map(
    (k) =>
      `let r${k} = min(row0 + ${k}u, ${last}); let rb${k} = base + r${k} * ${rowWords}u;${quant ? ` let sb${k} = sbase + r${k} * ${nb}u;` : ''}`,
  ).join('\n  ');
  const accs = K.map((k) => `var a${k} = 0.0;`).join(' ');
  const out = `vec4f(${[0, 1, 2, 3].map((k) => (k < rpt ? `a${k}` : '0.0')).join(', ')})`;
  let loop: string;
  if (quant) {
    const wpb = type === 'q8_0' ? 8 : 4;
    const quadsOf = (k: number) =>
      type === 'q8_0'
        ? [...Array(8).keys()].map((j) => `dot(${i8(`W[rb${k} + w + ${j}u]`)}, v${j})`)
        : [...Array(4).keys()].flatMap((j) => [
            `dot(${nib(`u${k}_${j}`)}, v${j})`,
            `dot(${nib(`(u${k}_${j} >> 4u)`)}, v${j + 4})`,
          ]);
    const words =
      type === 'q4_0'
        ? K.map((k) => [0, 1, 2, 3].map((j) => `let u${k}_${j} = W[rb${k} + w + ${j}u];`).join(' ')).join(
            '\n    ',
          )
        : '';
    loop = `for (var b = 0u; b < ${nb}u; b++) {
    let w = b * ${wpb}u;
    let x = ${xo} + b * 8u;
    ${[...Array(8).keys()].map((j) => `let v${j} = x4(x + ${j}u);`).join(' ')}
    ${words}
    ${K.map((k) => `a${k} += bitcast<f32>(W[sb${k} + b]) * (${quadsOf(k).join(' + ')});`).join('\n    ')}
  }`;
  } else {
    const wpq = type === 'f32' ? 4 : 2;
    const load = (k: number) =>
      type === 'f32'
        ? `bitcast<vec4f>(vec4u(W[rb${k} + w], W[rb${k} + w + 1u], W[rb${k} + w + 2u], W[rb${k} + w + 3u]))`
        : `vec4f(unpack2x16float(W[rb${k} + w]), unpack2x16float(W[rb${k} + w + 1u]))`;
    loop = `for (var q = 0u; q < ${quads}u; q++) {
    let w = q * ${wpq}u;
    let x = x4(${xo} + q);
    ${K.map((k) => `a${k} += dot(${load(k)}, x);`).join('\n    ')}
  }`;
  }
  return `fn ${name}(row0: u32, base: u32, sbase: u32) -> vec4f {
  ${rowsDecl}
  ${accs}
  ${loop}
  return ${out};
}`;
}
