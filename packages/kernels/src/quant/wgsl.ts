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
