// Row dot products of the float types (F32, F16, BF16) against float32 activations, generated
// as WAT. F16/BF16 stay 2 bytes per weight in memory; eight are widened per step in registers.

import { f16, set } from './wat.js';

export interface FloatDot {
  name: string;
  /** Bytes of one weight. */
  bytes: number;
  /** WAT text of `$dot_<name>`. */
  wat: () => string;
}

/** Eight weights at w as two f32x4 (locals lo, hi), from the 16 bytes in local v. */
function widen8(name: string): string {
  if (name === 'BF16') {
    return [
      set('lo', '(i32x4.shl (i32x4.extend_low_i16x8_u (local.get $v)) (i32.const 16))'),
      set('hi', '(i32x4.shl (i32x4.extend_high_i16x8_u (local.get $v)) (i32.const 16))'),
    ].join('\n        ');
  }
  // F16: sign | (exponent, mantissa) << 13 rebased by ×2^112; Inf/NaN keep an all-ones exponent
  const conv = (into: string, half: 'low' | 'high') =>
    [
      set('e', `(i32x4.extend_${half}_i16x8_u (local.get $v))`),
      set(
        'emv',
        '(i32x4.shl (v128.and (local.get $e) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)) (i32.const 13))',
      ),
      set(
        into,
        `(v128.or
          (i32x4.shl (v128.and (local.get $e) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))
          (v128.bitselect
            (v128.or (local.get $emv) (v128.const i32x4 0x70000000 0x70000000 0x70000000 0x70000000))
            (f32x4.mul (local.get $emv) (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
            (i32x4.ge_u (local.get $emv) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))))`,
      ),
    ].join('\n        ');
  return `${conv('lo', 'low')}\n        ${conv('hi', 'high')}`;
}

/** One weight at w as float32 in local s (the tail past the last multiple of 8). */
function one(name: string): string {
  if (name === 'BF16')
    return set('s', '(f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $w)) (i32.const 16)))');
  return f16('s', '(local.get $w)', 0);
}

function halfDot(name: string): string {
  return `
  ;; ${name}: Σ w[c]·x[c] over nb = cols weights of 2 bytes against float32 x (at $xq)
  (func $dot_${name} (param $w i32) (param $xq i32) (param $xd i32) (param $xs i32) (param $nb i32) (result f32)
    (local $acc v128) (local $acc2 v128) (local $end i32) (local $v v128) (local $e v128) (local $emv v128) (local $em i32)
    (local $lo v128) (local $hi v128) (local $s f32) (local $hh i32) (local $sum f32)
    (local.set $end (i32.add (local.get $w) (i32.shl (i32.and (local.get $nb) (i32.const -8)) (i32.const 1))))
    (block $done8
      (loop $l8
        (br_if $done8 (i32.ge_u (local.get $w) (local.get $end)))
        (local.set $v (v128.load (local.get $w)))
        ${widen8(name)}
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $lo) (v128.load (local.get $xq)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $hi) (v128.load offset=16 (local.get $xq)))))
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $xq (i32.add (local.get $xq) (i32.const 32)))
        (br $l8)))
    (local.set $sum (call $hsum (f32x4.add (local.get $acc) (local.get $acc2))))
    (local.set $end (i32.add (local.get $w) (i32.shl (i32.and (local.get $nb) (i32.const 7)) (i32.const 1))))
    (block $done
      (loop $l1
        (br_if $done (i32.ge_u (local.get $w) (local.get $end)))
        ${one(name)}
        (local.set $sum (f32.add (local.get $sum) (f32.mul (local.get $s) (f32.load (local.get $xq)))))
        (local.set $w (i32.add (local.get $w) (i32.const 2)))
        (local.set $xq (i32.add (local.get $xq) (i32.const 4)))
        (br $l1)))
    (local.get $sum))`;
}

const f32Dot = () => `
  ;; F32: Σ w[c]·x[c] over nb = cols float32 weights (x at $xq)
  (func $dot_F32 (param $w i32) (param $xq i32) (param $xd i32) (param $xs i32) (param $nb i32) (result f32)
    (call $dot (local.get $w) (local.get $xq) (local.get $nb)))`;

/** The float types, by ggml name. */
export const FLOAT_DOTS: FloatDot[] = [
  { name: 'F32', bytes: 4, wat: f32Dot },
  { name: 'F16', bytes: 2, wat: () => halfDot('F16') },
  { name: 'BF16', bytes: 2, wat: () => halfDot('BF16') },
];
