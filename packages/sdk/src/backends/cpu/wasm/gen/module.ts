// The generated half of the kernels module: per weight type a row dot ($dot_<type>, from
// quant-dots.ts / float-dots.ts) and its exported matmul, plus the activation quantizer they
// read. scripts/build-wasm.ts splices this text into kernels.wat at `;; @generated`.

import { CPU_KERNEL_TYPES, type CpuKernelType } from '../kernel-types.js';
import { FLOAT_DOTS } from './float-dots.js';
import { DOT_TOKENS, QUANT_DOTS, quantDotWat } from './quant-dots.js';

/**
 * out[t, r] (+)= Σ_c W[r, c]·x[t, c] for ntok tokens: rows outer, tokens inner, so each weight
 * row is read from memory once per call and stays in cache while every token's activations
 * pass over it (batched prefill). Token t's activations start t·cols values (and t·cols/32
 * scales, t·cols/16 sums) in; out is (ntok, rows).
 */
function matmulWat(name: CpuKernelType, blockSize: number, blockBytes: number): string {
  const quant = CPU_KERNEL_TYPES[name] !== 'f32';
  const log2 = Math.log2(blockSize);
  const args = (t: string) => `(local.get $w)
                (i32.add (local.get $x) (i32.mul ${t} (local.get $xstride)))
                (i32.add (local.get $xd) (i32.mul ${t} (local.get $dstride)))
                (i32.add (local.get $xs) (i32.mul ${t} (local.get $sstride)))
                (local.get $nb) (local.get $xstride) (local.get $dstride) (local.get $sstride)
                (i32.add (local.get $out) (i32.add (i32.mul ${t} (local.get $ostride)) (i32.shl (local.get $r) (i32.const 2))))
                (local.get $ostride) (local.get $acc)`;
  // quantized types: four tokens per call while four remain (each block decoded once for them)
  const perRow = quant
    ? `(block $t4done
          (loop $t4
            (br_if $t4done (i32.gt_u (i32.add (local.get $t) (i32.const 4)) (local.get $ntok)))
            (call $dot4_${name} ${args('(local.get $t)')})
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $t4)))
        (block $tdone
          (loop $tl
            (br_if $tdone (i32.ge_u (local.get $t) (local.get $ntok)))
            (call $dot1_${name} ${args('(local.get $t)')})
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $tl)))`
    : `(block $tdone
          (loop $tl
            (br_if $tdone (i32.ge_u (local.get $t) (local.get $ntok)))
            (local.set $o
              (i32.add (local.get $out)
                (i32.add (i32.mul (local.get $t) (local.get $ostride)) (i32.shl (local.get $r) (i32.const 2)))))
            (local.set $v
              (call $dot_${name} (local.get $w)
                (i32.add (local.get $x) (i32.mul (local.get $t) (local.get $xstride)))
                (i32.const 0) (i32.const 0) (local.get $nb)))
            (if (local.get $acc) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $o))))))
            (f32.store (local.get $o) (local.get $v))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $tl)))`;
  return `
  (func (export "matmul_${name}")
    (param $out i32) (param $w i32) (param $rows i32) (param $cols i32)
    (param $x i32) (param $xd i32) (param $xs i32) (param $ntok i32) (param $acc i32)
    (local $r i32) (local $t i32) (local $nb i32) (local $rowBytes i32) (local $o i32) (local $v f32)
    (local $xstride i32) (local $dstride i32) (local $sstride i32) (local $ostride i32)
    (local.set $nb (i32.shr_u (local.get $cols) (i32.const ${log2})))
    (local.set $rowBytes (i32.mul (local.get $nb) (i32.const ${blockBytes})))
    (local.set $xstride (i32.shl (local.get $cols) (i32.const ${quant ? 1 : 2})))
    (local.set $dstride (i32.shl (i32.shr_u (local.get $cols) (i32.const 5)) (i32.const 2)))
    (local.set $sstride (i32.shl (i32.shr_u (local.get $cols) (i32.const 4)) (i32.const 2)))
    (local.set $ostride (i32.shl (local.get $rows) (i32.const 2)))
    (block $rdone
      (loop $rl
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $t (i32.const 0))
        ${perRow}
        (local.set $w (i32.add (local.get $w) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl))))`;
}

const stores = (d: string) =>
  [0, 1, 2, 3]
    .map(
      (i) => `(v128.store offset=${16 * i} (local.get $xq) (local.tee $q${i} (i16x8.narrow_i32x4_s
            (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v${2 * i}) (local.get $id))))
            (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v${2 * i + 1}) (local.get $id)))))))`,
    )
    .concat([
      `(f32.store (local.get $xs) (f32.mul ${d} (f32.convert_i32_s (call $hsum_i32
            (i32x4.add (i32x4.extadd_pairwise_i16x8_s (local.get $q0)) (i32x4.extadd_pairwise_i16x8_s (local.get $q1)))))))`,
      `(f32.store offset=4 (local.get $xs) (f32.mul ${d} (f32.convert_i32_s (call $hsum_i32
            (i32x4.add (i32x4.extadd_pairwise_i16x8_s (local.get $q2)) (i32x4.extadd_pairwise_i16x8_s (local.get $q3)))))))`,
    ])
    .join('\n        ');
const load8 = [0, 1, 2, 3, 4, 5, 6, 7]
  .map((i) => `(local.set $v${i} (v128.load offset=${16 * i} (local.get $x)))`)
  .join('\n        ');
const LOCALS = `(local $end i32) (local $m v128) (local $d f32) (local $id v128)
    ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local $v${i} v128)`).join(' ')}
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)`;
const advance32 = `(local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $xq (i32.add (local.get $xq) (i32.const 64)))
        (local.set $xd (i32.add (local.get $xd) (i32.const 4)))
        (local.set $xs (i32.add (local.get $xs) (i32.const 8)))`;

/**
 * quantize_q16(x, n, xq, xd, xs): n floats (a multiple of 32) to int16 with one scale per 32,
 * d = max|x|/32767, q = round(x/d), so |x - d·q| ≤ d/2; xs gets d·Σq of each 16 (the min terms
 * of Q4_1/Q5_1/K types). llama.cpp rounds activations to int8 (Q8_0 per 32, Q8_K per 256); on
 * its own files that moved our logits up to 0.8 from the float reference without matching its
 * tokens any better, while int16 stays within ~1e-3 at the same cost: the dot loads 8 lanes
 * either way (test/cpu-llamacpp.test.ts).
 */
const QUANTIZE = `
  (func $hsum_i32 (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))

  (func (export "quantize_q16") (param $x i32) (param $n i32) (param $xq i32) (param $xd i32) (param $xs i32)
    ${LOCALS}
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $blk
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        ${load8}
        (local.set $m
          (f32x4.max
            (f32x4.max
              (f32x4.max (f32x4.abs (local.get $v0)) (f32x4.abs (local.get $v1)))
              (f32x4.max (f32x4.abs (local.get $v2)) (f32x4.abs (local.get $v3))))
            (f32x4.max
              (f32x4.max (f32x4.abs (local.get $v4)) (f32x4.abs (local.get $v5)))
              (f32x4.max (f32x4.abs (local.get $v6)) (f32x4.abs (local.get $v7))))))
        (local.set $d
          (f32.div
            (f32.max
              (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
              (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m))))
            (f32.const 32767)))
        (f32.store (local.get $xd) (local.get $d))
        (local.set $id
          (f32x4.splat
            (select (f32.div (f32.const 1) (local.get $d)) (f32.const 0) (f32.gt (local.get $d) (f32.const 0)))))
        ${stores('(local.get $d)')}
        ${advance32}
        (br $blk))))`;

/** The WAT text spliced into kernels.wat. */
export function generatedKernels(): string {
  const parts = [';; ---- generated by src/backends/cpu/wasm/gen/module.ts ----', QUANTIZE];
  for (const f of FLOAT_DOTS) {
    parts.push(f.wat(), matmulWat(f.name as CpuKernelType, 1, f.bytes));
  }
  for (const q of QUANT_DOTS) {
    for (const n of DOT_TOKENS) parts.push(quantDotWat(q, n));
    parts.push(matmulWat(q.name as CpuKernelType, q.blockSize, q.blockBytes));
  }
  return parts.join('\n');
}
