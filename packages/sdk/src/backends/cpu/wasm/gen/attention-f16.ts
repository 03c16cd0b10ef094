// Attention over an f16 KV cache as llama.cpp's CPU backend runs it by default (node-llama-cpp
// and llama.cpp turn flash attention on where it is supported, and the CPU supports it): per
// head, one pass over the positions in order with a running max M and sum S (online softmax),
// the values accumulated into an f16 vector, rounded at every step (ggml's
// flash_attn_ext_f16 with an F16 V: ggml_vec_scale_f16 when the max grows, ggml_vec_mad_f16
// for each value), divided by S at the end. The caller rounds q, K and V to f16 first (its
// cache slots stay float32, holding f16 values). Emulating this rounding is what makes our
// greedy tokens llama.cpp's at its near-ties (test/cpu-llamacpp.test.ts).

import { f16RoundInline } from './activations.js';

/** `$f16<name>(y, a, x, n)`: y[i] = f16(expr) over n floats (vector body, scalar tail). */
const round = f16RoundInline('t', 'ta', 'tn');
const f16Loop = (name: string, vec: string, one: string, params: string) => `
  (func $f16${name} ${params}
    (local $va v128) (local $end i32) (local $t v128) (local $ta v128) (local $tn v128)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $y) (local.get $end)))
        (local.set $t ${vec})
        ${round.stmts}
        (v128.store (local.get $y) ${round.expr})
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $l4)))
    (local.set $end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $l1
        (br_if $done (i32.ge_u (local.get $y) (local.get $end)))
        (f32.store (local.get $y) (call $f16round ${one}))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $l1))))`;

const PARAMS = '(param $y i32) (param $a f32) (param $x i32) (param $n i32)';

/** y = f16(y + a·x), ggml_vec_mad_f16. */
const MAD = f16Loop(
  'mad',
  '(f32x4.add (v128.load (local.get $y)) (f32x4.mul (local.get $va) (v128.load (local.get $x))))',
  '(f32.add (f32.load (local.get $y)) (f32.mul (local.get $a) (f32.load (local.get $x))))',
  PARAMS,
);
/** y = f16(a·y), ggml_vec_scale_f16 (x unused). */
const SCALE = f16Loop(
  'scale',
  '(f32x4.mul (local.get $va) (v128.load (local.get $y)))',
  '(f32.mul (local.get $a) (f32.load (local.get $y)))',
  PARAMS,
);

/**
 * attention_f16(out, q, kbase, vbase, pages, pageSize, kvDim, nHeads, headDim, kvMul, npos,
 * scale): the contract of kernels.wat's `attention` (same cache layout and page table, no
 * scratch), the arithmetic above.
 */
const ATTENTION = `
  (func (export "attention_f16")
    (param $out i32) (param $q i32) (param $kbase i32) (param $vbase i32) (param $pages i32)
    (param $pageSize i32) (param $kvDim i32) (param $nHeads i32) (param $headDim i32) (param $kvMul i32)
    (param $npos i32) (param $scale f32)
    (local $h i32) (local $t i32) (local $row i32) (local $hbytes i32) (local $rowBytes i32)
    (local $acc i32) (local $kv i32) (local $s f32) (local $m f32) (local $sum f32) (local $ms f32) (local $vs f32)
    (local.set $hbytes (i32.shl (local.get $headDim) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $kvDim) (i32.const 2)))
    (block $hdone
      (loop $hl
        (br_if $hdone (i32.ge_u (local.get $h) (local.get $nHeads)))
        (local.set $acc (i32.add (local.get $out) (i32.mul (local.get $h) (local.get $hbytes))))
        (memory.fill (local.get $acc) (i32.const 0) (local.get $hbytes))
        (local.set $kv (i32.mul (i32.div_u (local.get $h) (local.get $kvMul)) (local.get $hbytes)))
        (local.set $m (f32.const -inf))
        (local.set $sum (f32.const 0))
        (local.set $t (i32.const 0))
        (block $tdone
          (loop $tl
            (br_if $tdone (i32.ge_u (local.get $t) (local.get $npos)))
            (local.set $row
              (i32.add
                (i32.mul
                  (i32.add
                    (i32.mul
                      (i32.load (i32.add (local.get $pages) (i32.shl (i32.div_u (local.get $t) (local.get $pageSize)) (i32.const 2))))
                      (local.get $pageSize))
                    (i32.rem_u (local.get $t) (local.get $pageSize)))
                  (local.get $rowBytes))
                (local.get $kv)))
            (local.set $s
              (f32.mul (local.get $scale)
                (call $dot (i32.add (local.get $q) (i32.mul (local.get $h) (local.get $hbytes)))
                  (i32.add (local.get $kbase) (local.get $row)) (local.get $headDim))))
            (if (f32.gt (local.get $s) (local.get $m))
              (then
                (local.set $ms (call $exp1 (f32.sub (local.get $m) (local.get $s))))
                (local.set $m (local.get $s))
                (local.set $vs (f32.const 1))
                (call $f16scale (local.get $acc) (local.get $ms) (local.get $acc) (local.get $headDim)))
              (else
                (local.set $ms (f32.const 1))
                (local.set $vs (call $exp1 (f32.sub (local.get $s) (local.get $m))))))
            (call $f16mad (local.get $acc) (local.get $vs) (i32.add (local.get $vbase) (local.get $row)) (local.get $headDim))
            (local.set $sum (f32.add (f32.mul (local.get $sum) (local.get $ms)) (local.get $vs)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $tl)))
        (call $scale (local.get $acc) (f32.div (f32.const 1) (local.get $sum)) (local.get $headDim))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $hl))))`;

/** The WAT text of `attention_f16` and its two helpers. */
export function attentionF16Kernel(): string {
  return [MAD, SCALE, ATTENTION].join('\n');
}
