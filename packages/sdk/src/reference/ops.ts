/**
 * The arithmetic of a llama decoder, one function per step of the math, in plain float32
 * loops (llama2.c's kernels). The reference forward pass and the CPU backend share them.
 */

/** o = x / rms(x) * weight */
export function rmsnorm(o: Float32Array, x: Float32Array, weight: Float32Array, eps: number): void {
  const n = weight.length;
  let ss = 0;
  for (let j = 0; j < n; j++) ss += x[j]! * x[j]!;
  const scale = 1 / Math.sqrt(ss / n + eps);
  for (let j = 0; j < n; j++) o[j] = weight[j]! * (scale * x[j]!);
}

/** xout (d) = W (d × n, row-major) · x (n); `w` may be a view into a larger table. */
export function matmul(xout: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    let val = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) val += w[row + j]! * x[j]!;
    xout[i] = val;
  }
}

/** In-place softmax over the first `size` entries. */
export function softmax(x: Float32Array, size: number): void {
  let max = x[0]!;
  for (let i = 1; i < size; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const e = Math.exp(x[i]! - max);
    x[i] = e;
    sum += e;
  }
  for (let i = 0; i < size; i++) x[i]! /= sum;
}

/**
 * Rotary position embedding over `nHeads` heads of `headDim` packed in `vec`, rotating the first
 * `dims` of each head by the cos/sin pairs in `cs` (see ropeCosSin); the rest pass through.
 * 'interleaved' rotates pairs (2i, 2i+1) (llama/GGUF llama); 'neox' rotates (i, i + dims/2).
 */
export function rope(
  vec: Float32Array,
  nHeads: number,
  headDim: number,
  dims: number,
  cs: Float64Array,
  style: 'interleaved' | 'neox',
): void {
  const half = dims / 2;
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      const c = cs[2 * i]!;
      const s = cs[2 * i + 1]!;
      const a = style === 'interleaved' ? base + 2 * i : base + i;
      const b = style === 'interleaved' ? a + 1 : a + half;
      const v0 = vec[a]!;
      const v1 = vec[b]!;
      vec[a] = v0 * c - v1 * s;
      vec[b] = v0 * s + v1 * c;
    }
  }
}

/** RMSNorm of each of `nHeads` heads of `headDim` in place, with one shared weight (q/k norm). */
export function headRmsnorm(
  vec: Float32Array,
  nHeads: number,
  headDim: number,
  weight: Float32Array,
  eps: number,
): void {
  for (let h = 0; h < nHeads; h++) {
    const x = vec.subarray(h * headDim, (h + 1) * headDim);
    rmsnorm(x, x, weight, eps);
  }
}

/** gelu(x) with the tanh approximation, as ggml_gelu. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * x * (1 + 0.044715 * x * x)));
}

/** hb = gelu(hb) * hb2, the GeGLU gate (gemma). */
export function geglu(hb: Float32Array, hb2: Float32Array): void {
  for (let i = 0; i < hb.length; i++) hb[i] = gelu(hb[i]!) * hb2[i]!;
}

/** x = cap · tanh(x / cap) over the first `n` entries (gemma's soft-capping). */
export function softcap(x: Float32Array, cap: number, n = x.length): void {
  for (let i = 0; i < n; i++) x[i] = cap * Math.tanh(x[i]! / cap);
}

/** hb = silu(hb) * hb2, the SwiGLU gate. */
export function swiglu(hb: Float32Array, hb2: Float32Array): void {
  for (let i = 0; i < hb.length; i++) {
    const v = hb[i]!;
    hb[i] = (v / (1 + Math.exp(-v))) * hb2[i]!;
  }
}

/** x += y */
export function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}
