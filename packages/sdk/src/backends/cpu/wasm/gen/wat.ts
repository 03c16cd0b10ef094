// Small builders of WAT text for the generated kernels (gen/*.ts). Build time only: the
// runtime loads the compiled bytes (kernels.wasm.ts), never this.

export const get = (name: string): string => `(local.get $${name})`;

let token = 0;
/**
 * Names of per-token locals carry the token being emitted: a dot over several tokens decodes
 * each weight block once and repeats only the activation-side statements (see `each`).
 */
export const tok = (name: string): string => `${name}${token}`;
export function withToken<T>(k: number, f: () => T): T {
  const was = token;
  token = k;
  try {
    return f();
  } finally {
    token = was;
  }
}
export const set = (name: string, expr: string): string => `(local.set $${name} ${expr})`;
export const i32 = (v: number): string => `(i32.const ${v})`;

/** The same byte in every lane. */
export const bytes16 = (v: number): string => `(v128.const i8x16 ${Array(16).fill(v).join(' ')})`;

export const load = (addr: string, offset: number): string => `(v128.load offset=${offset} ${addr})`;
export const and = (a: string, b: string): string => `(v128.and ${a} ${b})`;
export const or = (a: string, b: string): string => `(v128.or ${a} ${b})`;

/** Bytes shifted left (k > 0) or right (k < 0), unsigned. */
export function shift8(v: string, k: number): string {
  if (k > 0) return `(i8x16.shl ${v} (i32.const ${k}))`;
  if (k < 0) return `(i8x16.shr_u ${v} (i32.const ${-k}))`;
  return v;
}

/**
 * Weight-side: the 16 signed bytes in local `v` widened to int16 in locals `<v>l`, `<v>h` (times
 * the i16x8 local `scale` when given), once per block however many tokens then read them.
 */
export function widen(v: string, scale?: string): string[] {
  const w = (x: string) => (scale ? `(i16x8.mul ${x} ${get(scale)})` : x);
  return [
    set(`${v}l`, w(`(i16x8.extend_low_i8x16_s ${get(v)})`)),
    set(`${v}h`, w(`(i16x8.extend_high_i8x16_s ${get(v)})`)),
  ];
}

/** Σ of the 16 widened weights of `v` (see `widen`) times the int16 activations at xq + offset. */
export function dot16(v: string, offset: number): string {
  return `(i32x4.add
      (i32x4.dot_i16x8_s ${get(`${v}l`)} ${load(get(tok('xq')), offset)})
      (i32x4.dot_i16x8_s ${get(`${v}h`)} ${load(get(tok('xq')), offset + 16)}))`;
}

export const add4 = (a: string, b: string): string => `(i32x4.add ${a} ${b})`;

/** acc += float(isum) · scale, lane-wise (the lanes are summed once per row), this token's. */
export const accumulate = (isum: string, scale: string): string =>
  set(
    tok('acc'),
    `(f32x4.add ${get(tok('acc'))} (f32x4.mul (f32x4.convert_i32x4_s ${isum}) (f32x4.splat ${scale})))`,
  );

export const f32Load = (addr: string, offset: number): string => `(f32.load offset=${offset} ${addr})`;
export const mul = (...xs: string[]): string => xs.reduce((a, b) => `(f32.mul ${a} ${b})`);

/**
 * Statements that leave the f16 at `addr + offset` as float32 in local `into` (local `hh`
 * needed): (exponent, mantissa) << 13 rebased by ×2^112 is exact for normals and subnormals.
 * A scale of Inf/NaN (no valid file has one) reads as a large finite value.
 */
export function f16(into: string, addr: string, offset: number): string {
  return [
    set('hh', `(i32.load16_u offset=${offset} ${addr})`),
    set(
      into,
      `(f32.copysign
        (f32.mul (f32.reinterpret_i32 (i32.shl (i32.and ${get('hh')} (i32.const 0x7fff)) (i32.const 13))) (f32.const 0x1p112))
        (f32.reinterpret_i32 (i32.shl ${get('hh')} (i32.const 16))))`,
    ),
  ].join('\n    ');
}
