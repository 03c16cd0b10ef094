const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
let halfTable: Float32Array | undefined;

function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** IEEE half (as its 16 bits) to float; a 256 KiB table built on first use keeps dequant loops flat. */
export function f16ToF32(h: number): number {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = decodeHalf(i);
  }
  return halfTable[h & 0xffff];
}

/** Float to IEEE half bits, rounding to nearest even like F16C and ggml's fallback. */
export function f32ToF16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the value is full × 2^(exp−150), the half's unit is 2^−24.
    const shift = 14 - e;
    if (shift > 24) return sign;
    const full = mant | 0x800000;
    let m = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) m++;
  // A mantissa carry rolls into the exponent, up to infinity, as IEEE rounding does.
  return sign | ((e << 10) + m);
}

/** Dequantizes `count` halves. */
export function dequantizeF16(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let i = 0; i < count; i++) out[i] = f16ToF32(bytes[2 * i] | (bytes[2 * i + 1] << 8));
}

export function quantizeF16(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    const h = f32ToF16(x[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return out;
}

/** Stores `x` as a little-endian half at byte `o` (the scales of every block type). */
export function writeHalf(out: Uint8Array, o: number, x: number): void {
  const h = f32ToF16(x);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
}
