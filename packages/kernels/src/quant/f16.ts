/** IEEE half → float, for reading F16 tensors and Q8_0/Q4_0 block scales on the CPU. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE half, round to nearest even (tests and synthetic models quantize with it). */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** float → the nearest half (ties to even), as a float: what an f16 slot holds. */
export function f16Round(v: number): number {
  return f16ToF32(f32ToF16(v));
}

/**
 * WGSL `f16r(x)` / `f16r4(x)`: x rounded to the nearest half (ties to even), kept in f32 — what
 * an f16 KV slot or accumulator holds. Bit arithmetic rather than `pack2x16float`, whose
 * rounding WGSL leaves to the implementation; values below f16's normal range round on its
 * subnormal grid (2^-24). Magnitudes past 65504 (f16 infinity) are not clamped. Branchless: an
 * emulator runs a divergent branch per lane group, and the fused attention rounds per key.
 */
export const F16_ROUND_WGSL = `fn f16r(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let normal = bitcast<f32>((b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u);
  return select(normal, round(x * 16777216.0) * 5.9604645e-8, (b & 0x7f800000u) < 0x38800000u);
}
fn f16r4(x: vec4f) -> vec4f {
  let b = bitcast<vec4u>(x);
  let normal = bitcast<vec4f>((b + 0xfffu + ((b >> vec4u(13u)) & vec4u(1u))) & vec4u(0xffffe000u));
  return select(normal, round(x * 16777216.0) * 5.9604645e-8, (b & vec4u(0x7f800000u)) < vec4u(0x38800000u));
}`;
