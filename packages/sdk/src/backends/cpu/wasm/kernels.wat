;; Hot kernels of the CPU backend, 128-bit SIMD. Compiled by packages/sdk/scripts/build-wasm.ts
;; into kernels.wasm.ts (inline bytes: browsers, workers and Node load it without a fetch).
;;
;; Conventions: every pointer is a byte offset into the imported memory (compared unsigned, so
;; offsets past 2 GiB work); counts are elements. The JS side validates shapes and page indices
;; before calling: nothing here bounds-checks beyond what the engine traps on.

(module
  (import "env" "memory" (memory 1))

  ;; Sum of the four lanes.
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; e^x per lane, Cephes expf: range reduction by ln 2 in two parts and a degree-6 polynomial,
  ;; within 2 ulp on [-87, 88]; inputs are clamped there (softmax and SiLU need nothing wider).
  (func $exp4 (param $x v128) (result v128)
    (local $fx v128) (local $z v128) (local $y v128)
    (local.set $x
      (f32x4.max
        (f32x4.min (local.get $x) (v128.const f32x4 88 88 88 88))
        (v128.const f32x4 -87 -87 -87 -87)))
    (local.set $fx
      (f32x4.nearest
        (f32x4.mul (local.get $x)
          (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))))
    (local.set $x
      (f32x4.sub (local.get $x)
        (f32x4.mul (local.get $fx) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $x
      (f32x4.sub (local.get $x)
        (f32x4.mul (local.get $fx)
          (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $y (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
        (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
        (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
        (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
        (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $y
      (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
        (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $y
      (f32x4.add
        (f32x4.add (f32x4.mul (local.get $y) (local.get $z)) (local.get $x))
        (v128.const f32x4 1 1 1 1)))
    ;; 2^fx built in the exponent bits
    (f32x4.mul (local.get $y)
      (i32x4.shl
        (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $fx)) (v128.const i32x4 127 127 127 127))
        (i32.const 23))))

  ;; e^x for one value, through the same polynomial (tails of the vector loops).
  (func $exp1 (param $x f32) (result f32)
    (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (local.get $x)))))

  ;; Σ a[i]·b[i] over n floats.
  (func $dot (param $a i32) (param $b i32) (param $n i32) (result f32)
    (local $acc0 v128) (local $acc1 v128) (local $end i32) (local $s f32)
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done8
      (loop $l8
        (br_if $done8 (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $acc0 (f32x4.add (local.get $acc0)
          (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $acc1 (f32x4.add (local.get $acc1)
          (f32x4.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 32)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (br $l8)))
    (if (i32.and (local.get $n) (i32.const 4))
      (then
        (local.set $acc0 (f32x4.add (local.get $acc0)
          (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))))
    (local.set $s (call $hsum (f32x4.add (local.get $acc0) (local.get $acc1))))
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $l1
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 4)))
        (br $l1)))
    (local.get $s))

  ;; y[i] += a·x[i] over n floats.
  (func $axpy (param $y i32) (param $a f32) (param $x i32) (param $n i32)
    (local $va v128) (local $end i32)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $y) (local.get $end)))
        (v128.store (local.get $y)
          (f32x4.add (v128.load (local.get $y)) (f32x4.mul (local.get $va) (v128.load (local.get $x)))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $l4)))
    (local.set $end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $l1
        (br_if $done (i32.ge_u (local.get $y) (local.get $end)))
        (f32.store (local.get $y)
          (f32.add (f32.load (local.get $y)) (f32.mul (local.get $a) (f32.load (local.get $x)))))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $l1))))

  ;; @generated: the row dots and matmuls of every weight type, and their activation quantizers (gen/)

  ;; out = w · x / rms(x) over n floats (out may be x).
  (func (export "rmsnorm") (param $out i32) (param $x i32) (param $w i32) (param $n i32) (param $eps f32)
    (local $scale f32) (local $vs v128) (local $i i32) (local $n4 i32) (local $v f32)
    (local.set $scale (call $dot (local.get $x) (local.get $x) (local.get $n)))
    (local.set $scale
      (f32.div (f32.const 1)
        (f32.sqrt (f32.add (f32.div (local.get $scale) (f32.convert_i32_s (local.get $n))) (local.get $eps)))))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $i)))
            (f32x4.mul (local.get $vs) (v128.load (i32.add (local.get $x) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l4)))
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.mul (f32.load (i32.add (local.get $w) (local.get $i)))
            (f32.mul (local.get $scale) (f32.load (i32.add (local.get $x) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l))))

  ;; x[i] += y[i] over n floats.
  (func (export "add") (param $x i32) (param $y i32) (param $n i32)
    (call $axpy (local.get $x) (f32.const 1) (local.get $y) (local.get $n)))

  ;; h[i] = silu(h[i])·g[i] over n floats (the SwiGLU gate).
  (func (export "swiglu") (param $h i32) (param $g i32) (param $n i32)
    (local $end i32) (local $v v128) (local $s f32)
    (local.set $end (i32.add (local.get $h) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $h) (local.get $end)))
        (local.set $v (v128.load (local.get $h)))
        (v128.store (local.get $h)
          (f32x4.mul
            (f32x4.div (local.get $v)
              (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp4 (f32x4.neg (local.get $v)))))
            (v128.load (local.get $g))))
        (local.set $h (i32.add (local.get $h) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (br $l4)))
    (local.set $end (i32.add (local.get $h) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $l1
        (br_if $done (i32.ge_u (local.get $h) (local.get $end)))
        (local.set $s (f32.load (local.get $h)))
        (f32.store (local.get $h)
          (f32.mul
            (f32.div (local.get $s) (f32.add (f32.const 1) (call $exp1 (f32.neg (local.get $s)))))
            (f32.load (local.get $g))))
        (local.set $h (i32.add (local.get $h) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (br $l1))))

  ;; Rotary embedding of nHeads heads of headDim floats at vec. cs holds (cos, sin) as float64
  ;; pairs for each of the headDim/2 frequencies at this position; the rotation is computed in
  ;; float64 like the reference, so results are bitwise equal to it. neox ≠ 0 pairs (i, i + half),
  ;; otherwise (2i, 2i + 1).
  (func (export "rope") (param $vec i32) (param $nHeads i32) (param $headDim i32) (param $cs i32) (param $neox i32)
    (local $h i32) (local $i i32) (local $half i32) (local $base i32) (local $a i32) (local $b i32)
    (local $c f64) (local $s f64) (local $v0 f64) (local $v1 f64)
    (local.set $half (i32.shr_u (local.get $headDim) (i32.const 1)))
    (block $hdone
      (loop $hl
        (br_if $hdone (i32.ge_s (local.get $h) (local.get $nHeads)))
        (local.set $base (i32.add (local.get $vec) (i32.shl (i32.mul (local.get $h) (local.get $headDim)) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $idone
          (loop $il
            (br_if $idone (i32.ge_s (local.get $i) (local.get $half)))
            (local.set $c (f64.load (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4)))))
            (local.set $s (f64.load offset=8 (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 4)))))
            (if (local.get $neox)
              (then
                (local.set $a (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2))))
                (local.set $b (i32.add (local.get $a) (i32.shl (local.get $half) (i32.const 2)))))
              (else
                (local.set $a (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 3))))
                (local.set $b (i32.add (local.get $a) (i32.const 4)))))
            (local.set $v0 (f64.promote_f32 (f32.load (local.get $a))))
            (local.set $v1 (f64.promote_f32 (f32.load (local.get $b))))
            (f32.store (local.get $a)
              (f32.demote_f64 (f64.sub (f64.mul (local.get $v0) (local.get $c)) (f64.mul (local.get $v1) (local.get $s)))))
            (f32.store (local.get $b)
              (f32.demote_f64 (f64.add (f64.mul (local.get $v0) (local.get $s)) (f64.mul (local.get $v1) (local.get $c)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $il)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $hl))))

  ;; Causal attention of one query position over npos cached positions, every head.
  ;; kbase/vbase: this layer's K/V cache, rows of kvDim floats; position t lives in row
  ;; pages[t / pageSize]·pageSize + t % pageSize. att: scratch of nHeads·npos + nHeads floats.
  ;; out (nHeads·headDim) = Σ_t softmax(q·k_t·scale)·v_t per head; query head h reads KV head
  ;; h / kvMul (grouped-query attention).
  (func (export "attention")
    (param $out i32) (param $q i32) (param $kbase i32) (param $vbase i32) (param $pages i32)
    (param $pageSize i32) (param $kvDim i32) (param $nHeads i32) (param $headDim i32) (param $kvMul i32)
    (param $npos i32) (param $att i32) (param $scale f32)
    (local $t i32) (local $h i32) (local $row i32) (local $hbytes i32) (local $rowBytes i32)
    (local $arow i32) (local $aend i32) (local $p i32) (local $max f32) (local $sum f32) (local $v v128)
    (local $vmax v128) (local $vsum v128) (local $e f32) (local $inv i32)
    (local.set $hbytes (i32.shl (local.get $headDim) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $kvDim) (i32.const 2)))
    (local.set $inv (i32.add (local.get $att) (i32.shl (i32.mul (local.get $nHeads) (local.get $npos)) (i32.const 2))))
    ;; scores, position-major so each cache row is located once for every head
    (block $tdone
      (loop $tl
        (br_if $tdone (i32.ge_s (local.get $t) (local.get $npos)))
        (local.set $row
          (i32.mul
            (i32.add
              (i32.mul
                (i32.load (i32.add (local.get $pages) (i32.shl (i32.div_u (local.get $t) (local.get $pageSize)) (i32.const 2))))
                (local.get $pageSize))
              (i32.rem_u (local.get $t) (local.get $pageSize)))
            (local.get $rowBytes)))
        (local.set $h (i32.const 0))
        (block $hdone
          (loop $hl
            (br_if $hdone (i32.ge_s (local.get $h) (local.get $nHeads)))
            (f32.store
              (i32.add (local.get $att) (i32.shl (i32.add (i32.mul (local.get $h) (local.get $npos)) (local.get $t)) (i32.const 2)))
              (f32.mul (local.get $scale)
                (call $dot
                  (i32.add (local.get $q) (i32.mul (local.get $h) (local.get $hbytes)))
                  (i32.add (i32.add (local.get $kbase) (local.get $row))
                    (i32.mul (i32.div_u (local.get $h) (local.get $kvMul)) (local.get $hbytes)))
                  (local.get $headDim))))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $hl)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl)))
    ;; softmax numerators per head; 1/Σ kept after the scores and applied to the output
    (local.set $h (i32.const 0))
    (block $sdone
      (loop $sl
        (br_if $sdone (i32.ge_s (local.get $h) (local.get $nHeads)))
        (local.set $arow (i32.add (local.get $att) (i32.shl (i32.mul (local.get $h) (local.get $npos)) (i32.const 2))))
        (local.set $aend (i32.add (local.get $arow) (i32.shl (local.get $npos) (i32.const 2))))
        (local.set $max (f32.load (local.get $arow)))
        (local.set $p (local.get $arow))
        (block $mdone
          (loop $ml
            (br_if $mdone (i32.ge_u (local.get $p) (local.get $aend)))
            (local.set $max (f32.max (local.get $max) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $ml)))
        (local.set $vmax (f32x4.splat (local.get $max)))
        (local.set $vsum (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $arow))
        (block $edone4
          (loop $el4
            (br_if $edone4 (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $aend)))
            (local.set $v (call $exp4 (f32x4.sub (v128.load (local.get $p)) (local.get $vmax))))
            (v128.store (local.get $p) (local.get $v))
            (local.set $vsum (f32x4.add (local.get $vsum) (local.get $v)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $el4)))
        (local.set $sum (call $hsum (local.get $vsum)))
        (block $edone
          (loop $el
            (br_if $edone (i32.ge_u (local.get $p) (local.get $aend)))
            (local.set $e (call $exp1 (f32.sub (f32.load (local.get $p)) (local.get $max))))
            (f32.store (local.get $p) (local.get $e))
            (local.set $sum (f32.add (local.get $sum) (local.get $e)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $el)))
        (f32.store (i32.add (local.get $inv) (i32.shl (local.get $h) (i32.const 2)))
          (f32.div (f32.const 1) (local.get $sum)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $sl)))
    ;; weighted sum of the values
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $nHeads) (local.get $hbytes)))
    (local.set $t (i32.const 0))
    (block $vdone
      (loop $vl
        (br_if $vdone (i32.ge_s (local.get $t) (local.get $npos)))
        (local.set $row
          (i32.mul
            (i32.add
              (i32.mul
                (i32.load (i32.add (local.get $pages) (i32.shl (i32.div_u (local.get $t) (local.get $pageSize)) (i32.const 2))))
                (local.get $pageSize))
              (i32.rem_u (local.get $t) (local.get $pageSize)))
            (local.get $rowBytes)))
        (local.set $h (i32.const 0))
        (block $hdone2
          (loop $hl2
            (br_if $hdone2 (i32.ge_s (local.get $h) (local.get $nHeads)))
            (call $axpy
              (i32.add (local.get $out) (i32.mul (local.get $h) (local.get $hbytes)))
              (f32.load (i32.add (local.get $att) (i32.shl (i32.add (i32.mul (local.get $h) (local.get $npos)) (local.get $t)) (i32.const 2))))
              (i32.add (i32.add (local.get $vbase) (local.get $row))
                (i32.mul (i32.div_u (local.get $h) (local.get $kvMul)) (local.get $hbytes)))
              (local.get $headDim))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $hl2)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $vl)))
    (local.set $h (i32.const 0))
    (block $ndone
      (loop $nl
        (br_if $ndone (i32.ge_s (local.get $h) (local.get $nHeads)))
        (call $scale
          (i32.add (local.get $out) (i32.mul (local.get $h) (local.get $hbytes)))
          (f32.load (i32.add (local.get $inv) (i32.shl (local.get $h) (i32.const 2))))
          (local.get $headDim))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $nl))))

  ;; x[i] *= a over n floats.
  (func $scale (param $x i32) (param $a f32) (param $n i32)
    (local $end i32) (local $va v128)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store (local.get $x) (f32x4.mul (v128.load (local.get $x)) (local.get $va)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $l4)))
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $l1
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (f32.store (local.get $x) (f32.mul (f32.load (local.get $x)) (local.get $a)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $l1))))
)
