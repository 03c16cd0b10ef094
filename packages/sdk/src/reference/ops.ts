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
 * Rotary position embedding over `nHeads` heads of `headDim` packed in `vec`.
 * 'interleaved' rotates pairs (2i, 2i+1) (llama/GGUF llama); 'neox' rotates (i, i + headDim/2).
 */
export function rope(
  vec: Float32Array,
  nHeads: number,
  headDim: number,
  pos: number,
  theta: number,
  style: 'interleaved' | 'neox',
): void {
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      const freq = 1 / theta ** ((2 * i) / headDim);
      const angle = pos * freq;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const a = style === 'interleaved' ? base + 2 * i : base + i;
      const b = style === 'interleaved' ? a + 1 : a + half;
      const v0 = vec[a]!;
      const v1 = vec[b]!;
      vec[a] = v0 * c - v1 * s;
      vec[b] = v0 * s + v1 * c;
    }
  }
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
