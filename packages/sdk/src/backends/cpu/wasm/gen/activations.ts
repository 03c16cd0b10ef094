// The activation quantizers, generated as WAT: what llama.cpp's CPU backend turns a matmul's
// float32 input into before its dot products (the weight type's `vec_dot_type`), so our
// integer sums are llama.cpp's own and our logits differ from its only by float summation order.
//
// Every quantized kind leaves the same three arrays for the row dots of quant-dots.ts: xq, the
// integers in int16 lanes (|q| ≤ 127, as i32x4.dot_i16x8_s reads them); xd, one float32 scale per
// 32 values; xs, one float32 per 16 for the weight types whose blocks carry a min.
// - q8_0 (Q4_0, Q5_0, Q8_0, IQ4_NL; and Q8_1 for Q4_1, Q5_1, whose values are the same): per 32,
//   as ggml's x86 quantize_row_q8_0/q8_1 (AVX2): d = amax/127 kept as f16, q = round-to-even(x ·
//   127/amax); xs[2i] = f16(d·Σq) (block_q8_1's s), xs[2i + 1] = 0.
// - q8_K (Q2_K…Q6_K, IQ4_XS): per 256, ggml's quantize_row_q8_K_ref (x86 uses it as is): max the
//   signed value of largest magnitude (first such), iscale = -127/max, q = min(127,
//   nearest_int(iscale·x)), d = 1/iscale (float32, in all 8 xd of the block); xs = d·bsum of each
//   16 (block_q8_K's bsums, times d).
// - f16 / bf16 (F16, BF16 weights): x rounded to nearest even in that format (ggml's
//   from_float), into a float32 copy the float dots read.

const splat = (v: number) => `(v128.const i32x4 ${v} ${v} ${v} ${v})`;
const f32s = (v: string) => `(v128.const f32x4 ${v} ${v} ${v} ${v})`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Four floats rounded to the nearest f16 (ties to even), as float32: normal halves keep 10
 * mantissa bits (the carry rolls into the exponent), subnormal ones (|x| < 2^-14) are multiples
 * of 2^-24, past 65504 it is ±Inf. NaN is not expected (no activation is one).
 */
/**
 * The statements (locals a, n as scratch) after which `expr` is local `x` rounded so, for
 * inlining where a call per four floats would cost more than the rounding (attention-f16.ts).
 */
export function f16RoundInline(x: string, a: string, n: string): { stmts: string; expr: string } {
  return {
    stmts: `(local.set $${a} (f32x4.abs (local.get $${x})))
    (local.set $${n}
      (v128.and
        (i32x4.add (i32x4.add (local.get $${x}) ${splat(0xfff)})
          (v128.and (i32x4.shr_u (local.get $${x}) (i32.const 13)) ${splat(1)}))
        ${splat(0xffffe000 | 0)}))`,
    expr: `(v128.bitselect
      (v128.or (v128.and (local.get $${x}) ${splat(0x80000000 | 0)}) ${splat(0x7f800000)})
      (v128.bitselect
        (f32x4.mul (f32x4.nearest (f32x4.mul (local.get $${x}) ${f32s('0x1p24')})) ${f32s('0x1p-24')})
        (local.get $${n})
        (f32x4.lt (local.get $${a}) ${f32s('0x1p-14')}))
      (f32x4.ge (local.get $${a}) ${f32s('65520')}))`,
  };
}

const inl = f16RoundInline('x', 'a', 'n');
const F16_ROUND = `
  (func $f16round4 (param $x v128) (result v128)
    (local $a v128) (local $n v128)
    ${inl.stmts}
    ${inl.expr})

  (func $f16round (param $x f32) (result f32)
    (f32x4.extract_lane 0 (call $f16round4 (f32x4.splat (local.get $x)))))`;

/** Four floats rounded to the nearest bf16 (ties to even), as float32 (ggml_compute_fp32_to_bf16). */
const BF16_ROUND = `
  (func $bf16round4 (param $x v128) (result v128)
    (v128.and
      (i32x4.add (i32x4.add (local.get $x) ${splat(0x7fff)})
        (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) ${splat(1)}))
      ${splat(0xffff0000 | 0)}))`;

/** round_<f16|bf16>(x, n, out): n floats rounded (out may be x; nothing past n is written). */
const roundExport = (name: string) => `
  (func (export "round_${name}") (param $x i32) (param $n i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.gt_u (i32.add (local.get $x) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $out) (call $${name}round4 (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $l)))
    (block $done1
      (loop $l1
        (br_if $done1 (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $out)
          (f32x4.extract_lane 0 (call $${name}round4 (f32x4.splat (f32.load (local.get $x))))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $l1))))`;

const hmax = (v: string) => `(f32.max
      (f32.max (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v}))
      (f32.max (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;
const hsumI = (v: string) => `(i32.add
      (i32.add (i32x4.extract_lane 0 ${v}) (i32x4.extract_lane 1 ${v}))
      (i32.add (i32x4.extract_lane 2 ${v}) (i32x4.extract_lane 3 ${v})))`;
/** Four floats at x + offset times the splat `mul`, rounded to even, as int32 lanes. */
const q4 = (offset: number, mul: string) =>
  `(i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=${offset} (local.get $x)) ${mul})))`;

/** quantize_q8_0(x, n, xq, xd, xs): n floats, a multiple of 32 (see the header). */
const Q8_0 = `
  (func (export "quantize_q8_0") (param $x i32) (param $n i32) (param $xq i32) (param $xd i32) (param $xs i32)
    (local $end i32) (local $m v128) (local $amax f32) (local $d f32) (local $id v128)
    ${range(8)
      .map((i) => `(local $i${i} v128)`)
      .join(' ')}
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $blk
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $m (f32x4.abs (v128.load (local.get $x))))
        ${range(7)
          .map(
            (i) =>
              `(local.set $m (f32x4.max (local.get $m) (f32x4.abs (v128.load offset=${16 * (i + 1)} (local.get $x)))))`,
          )
          .join('\n        ')}
        (local.set $amax ${hmax('(local.get $m)')})
        (local.set $d (f32.div (local.get $amax) (f32.const 127)))
        (f32.store (local.get $xd) (call $f16round (local.get $d)))
        (local.set $id
          (f32x4.splat (select (f32.div (f32.const 127) (local.get $amax)) (f32.const 0)
            (f32.ne (local.get $amax) (f32.const 0)))))
        ${range(8)
          .map((i) => `(local.set $i${i} ${q4(16 * i, '(local.get $id)')})`)
          .join('\n        ')}
        ${range(4)
          .map(
            (i) =>
              `(v128.store offset=${16 * i} (local.get $xq) (i16x8.narrow_i32x4_s (local.get $i${2 * i}) (local.get $i${2 * i + 1})))`,
          )
          .join('\n        ')}
        (f32.store (local.get $xs)
          (call $f16round (f32.mul (local.get $d) (f32.convert_i32_s ${hsumI(
            `(i32x4.add
            (i32x4.add (i32x4.add (local.get $i0) (local.get $i1)) (i32x4.add (local.get $i2) (local.get $i3)))
            (i32x4.add (i32x4.add (local.get $i4) (local.get $i5)) (i32x4.add (local.get $i6) (local.get $i7))))`,
          )}))))
        (f32.store offset=4 (local.get $xs) (f32.const 0))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $xq (i32.add (local.get $xq) (i32.const 64)))
        (local.set $xd (i32.add (local.get $xd) (i32.const 4)))
        (local.set $xs (i32.add (local.get $xs) (i32.const 8)))
        (br $blk))))`;

/** quantize_q8_K(x, n, xq, xd, xs): n floats, a multiple of 256 (see the header). */
const Q8_K = `
  (func (export "quantize_q8_K") (param $x i32) (param $n i32) (param $xq i32) (param $xd i32) (param $xs i32)
    (local $end i32) (local $p i32) (local $m v128) (local $amax f32) (local $max f32) (local $iscale f32)
    (local $d f32) (local $is v128) (local $g i32) (local $a v128) (local $b v128) (local $c v128) (local $e v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $blk
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        ;; the largest magnitude, then the first value that has it (its sign sets iscale's)
        (local.set $m (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $x))
        (loop $mx
          (local.set $m (f32x4.max (local.get $m) (f32x4.abs (v128.load (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $mx (i32.lt_u (local.get $p) (i32.add (local.get $x) (i32.const 1024)))))
        (local.set $amax ${hmax('(local.get $m)')})
        (local.set $p (local.get $x))
        (block $found
          (loop $fd
            (br_if $found (f32.eq (f32.abs (f32.load (local.get $p))) (local.get $amax)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br_if $fd (i32.lt_u (local.get $p) (i32.add (local.get $x) (i32.const 1024))))))
        ;; (none found only when a value is NaN: the block's first value then sets the sign)
        (local.set $max (f32.load (select (local.get $p) (local.get $x)
          (i32.lt_u (local.get $p) (i32.add (local.get $x) (i32.const 1024))))))
        (if (f32.eq (local.get $amax) (f32.const 0))
          (then (local.set $iscale (f32.const 0)) (local.set $d (f32.const 0)))
          (else
            (local.set $iscale (f32.div (f32.const -127) (local.get $max)))
            (local.set $d (f32.div (f32.const 1) (local.get $iscale)))))
        (local.set $is (f32x4.splat (local.get $iscale)))
        ;; 16 groups of 16: q = min(127, round(iscale·x)) into int16, bsum·d per group
        (local.set $g (i32.const 0))
        (loop $grp
          (local.set $a (i32x4.min_s ${q4(0, '(local.get $is)')} ${splat(127)}))
          (local.set $b (i32x4.min_s ${q4(16, '(local.get $is)')} ${splat(127)}))
          (local.set $c (i32x4.min_s ${q4(32, '(local.get $is)')} ${splat(127)}))
          (local.set $e (i32x4.min_s ${q4(48, '(local.get $is)')} ${splat(127)}))
          (v128.store (local.get $xq) (i16x8.narrow_i32x4_s (local.get $a) (local.get $b)))
          (v128.store offset=16 (local.get $xq) (i16x8.narrow_i32x4_s (local.get $c) (local.get $e)))
          (f32.store (local.get $xs)
            (f32.mul (local.get $d) (f32.convert_i32_s ${hsumI(
              '(i32x4.add (i32x4.add (local.get $a) (local.get $b)) (i32x4.add (local.get $c) (local.get $e)))',
            )})))
          (local.set $x (i32.add (local.get $x) (i32.const 64)))
          (local.set $xq (i32.add (local.get $xq) (i32.const 32)))
          (local.set $xs (i32.add (local.get $xs) (i32.const 4)))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $grp (i32.lt_u (local.get $g) (i32.const 16))))
        (v128.store (local.get $xd) (f32x4.splat (local.get $d)))
        (v128.store offset=16 (local.get $xd) (f32x4.splat (local.get $d)))
        (local.set $xd (i32.add (local.get $xd) (i32.const 32)))
        (br $blk))))`;

/** The WAT text of the activation quantizers and roundings. */
export function activationKernels(): string {
  return [F16_ROUND, BF16_ROUND, roundExport('f16'), roundExport('bf16'), Q8_0, Q8_K].join('\n');
}
