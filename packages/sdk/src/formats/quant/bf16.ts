const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);

/** bfloat16 (as its 16 bits) to float: the top half of an f32, so widening is exact. */
export function bf16ToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/**
 * Float to bfloat16 bits as ggml's GGML_FP32_TO_BF16: round to nearest even, NaNs kept quiet.
 * (ggml's converter does not flush subnormals; neither does this.)
 */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

/** Dequantizes `count` bfloat16 values. */
export function dequantizeBF16(bytes: Uint8Array, count: number, out: Float32Array): void {
  for (let i = 0; i < count; i++) out[i] = bf16ToF32(bytes[2 * i] | (bytes[2 * i + 1] << 8));
}

export function quantizeBF16(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    const h = f32ToBf16(x[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return out;
}
