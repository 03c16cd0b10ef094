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
 * The same dequantization over a `W: array<u32>` binding that holds several matrices (a fused
 * kernel's per-layer weight pack), each addressed by explicit word offsets instead of uniforms:
 * - `wq_<type>(base, cols, row, q)`: elements 4q..4q+3 of a row of the matrix whose data starts at `base`;
 * - `ws_<type>(sbase, cols, row, b)`: the scale of block b, its scales starting at word `sbase`.
 * Float rows are read as words and bitcast, so one binding type serves every weight type.
 */
export function packedWeightFns(type: WeightType): string {
  const quads = '((cols + 3u) / 4u)';
  switch (type) {
    case 'f32':
      return `fn wq_${type}(base: u32, cols: u32, row: u32, q: u32) -> vec4f {
  let o = base + row * ${quads} * 4u + 4u * q;
  return bitcast<vec4f>(vec4u(W[o], W[o + 1u], W[o + 2u], W[o + 3u]));
}
fn ws_${type}(sbase: u32, cols: u32, row: u32, b: u32) -> f32 { return 1.0; }`;
    case 'f16':
      return `fn wq_${type}(base: u32, cols: u32, row: u32, q: u32) -> vec4f {
  let o = base + row * ${quads} * 2u + 2u * q;
  return vec4f(unpack2x16float(W[o]), unpack2x16float(W[o + 1u]));
}
fn ws_${type}(sbase: u32, cols: u32, row: u32, b: u32) -> f32 { return 1.0; }`;
    case 'q8_0':
      return `fn wq_${type}(base: u32, cols: u32, row: u32, q: u32) -> vec4f {
  let u = W[base + row * (cols / 4u) + q];
  return vec4f(vec4i(i32(u << 24u) >> 24u, i32(u << 16u) >> 24u, i32(u << 8u) >> 24u, i32(u) >> 24u));
}
fn ws_${type}(sbase: u32, cols: u32, row: u32, b: u32) -> f32 { return bitcast<f32>(W[sbase + row * (cols / 32u) + b]); }`;
    case 'q4_0':
      return `fn wq_${type}(base: u32, cols: u32, row: u32, q: u32) -> vec4f {
  let j = q % 8u;
  let s = W[base + row * (cols / 8u) + (q / 8u) * 4u + (j & 3u)] >> ((j >> 2u) * 4u);
  return vec4f(vec4u(s, s >> 8u, s >> 16u, s >> 24u) & vec4u(15u)) - vec4f(8.0);
}
fn ws_${type}(sbase: u32, cols: u32, row: u32, b: u32) -> f32 { return bitcast<f32>(W[sbase + row * (cols / 32u) + b]); }`;
  }
}

/**
 * `fn <name>(row, base, sbase) -> f32`: one row of a `cols`-wide matrix in the pack dotted with
 * the activations from element `xo` on, read through `xv(i) -> vec4f`. One invocation per row:
 * on CPU-like adapters splitting a row across lanes costs more in reductions than it saves.
 */
export function packedDotFn(name: string, type: WeightType, cols: number, xo: string): string {
  if (isQuantized(type)) {
    return `fn ${name}(row: u32, base: u32, sbase: u32) -> f32 {
  var acc = 0.0;
  for (var b = 0u; b < ${cols / 32}u; b++) {
    var s = 0.0;
    for (var qi = 0u; qi < 8u; qi++) {
      let q = b * 8u + qi;
      s += dot(wq_${type}(base, ${cols}u, row, q), xv(${xo} + 4u * q));
    }
    acc += ws_${type}(sbase, ${cols}u, row, b) * s;
  }
  return acc;
}`;
  }
  return `fn ${name}(row: u32, base: u32, sbase: u32) -> f32 {
  var acc = 0.0;
  for (var q = 0u; q < ${Math.ceil(cols / 4)}u; q++) { acc += dot(wq_${type}(base, ${cols}u, row, q), xv(${xo} + 4u * q)); }
  return acc;
}`;
}
