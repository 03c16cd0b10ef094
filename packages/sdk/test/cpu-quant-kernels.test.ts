// Every weight type's wasm matmul against the judge: the type's dequantizer (formats/quant,
// checked bit for bit against ggml's block definitions) and a float64 dot with the activations
// the kernel saw (quantize_q8_0/q8_K's d·q, or the float32 x as round_f16/bf16 left it). Blocks are random bytes with valid
// scales, on awkward shapes: rows of one block, odd row counts, 1, 4 (the batched dot) and 6
// tokens (4 + a remainder) at once.

import { describe, expect, it } from 'vitest';
import { rowBytesOf } from '../src/backends/cpu/matrix.js';
import {
  CPU_KERNEL_TYPES,
  type CpuKernelType,
  isQuantizedActivation,
} from '../src/backends/cpu/wasm/kernel-types.js';
import { GGML_BLOCK_ANY, parseTypeName } from '../src/formats/ggml-types.js';
import { dequantize, f16ToF32, f32ToF16 } from '../src/formats/quant/index.js';
import { Arena, randomF32, rng, U } from './helpers/wasm-arena.js';

/** Byte offsets of each block's f16 scales (random bits there could be Inf/NaN or huge). */
const F16_FIELDS: Partial<Record<CpuKernelType, number[]>> = {
  Q4_0: [0],
  IQ4_NL: [0],
  Q8_0: [0],
  Q5_0: [0],
  Q4_1: [0, 2],
  Q5_1: [0, 2],
  Q2_K: [80, 82],
  Q3_K: [108],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
  IQ4_XS: [0],
};

const geometry = (t: CpuKernelType) => Object.values(GGML_BLOCK_ANY).find((g) => g.name === t)!;

/** rows×cols of type t from random bytes: scales small and finite, everything else any bits. */
function randomMatrix(t: CpuKernelType, rows: number, cols: number, rand: () => number): Uint8Array {
  const bytes = Uint8Array.from({ length: rows * rowBytesOf(t, cols) }, () => Math.floor(rand() * 256));
  const view = new DataView(bytes.buffer);
  if (t === 'F32') {
    for (let i = 0; i < rows * cols; i++) view.setFloat32(i * 4, rand() * 2 - 1, true);
  } else if (t === 'F16') {
    // any finite half: subnormals, ±0 and the largest normals included
    for (let i = 0; i < rows * cols; i++)
      if (((view.getUint16(i * 2, true) >> 10) & 31) === 31) bytes[i * 2 + 1]! ^= 0x40;
  } else if (t === 'BF16') {
    // exponents within 2^±16, so no product overflows
    for (let i = 0; i < rows * cols; i++) {
      const h = view.getUint16(i * 2, true);
      view.setUint16(i * 2, (h & 0x807f) | ((111 + Math.floor(rand() * 32)) << 7), true);
    }
  } else {
    const { blockBytes } = geometry(t);
    for (let b = 0; b < bytes.length / blockBytes; b++) {
      for (const f of F16_FIELDS[t]!)
        view.setUint16(b * blockBytes + f, f32ToF16((rand() * 2 - 1) * 0.05), true);
    }
  }
  return bytes;
}

/** Shapes per block size: one block, a few, and a tail of one more block. */
const colsFor = (t: CpuKernelType) => {
  const bs = geometry(t).blockSize;
  if (bs === 256) return [256, 768];
  if (bs === 32) return [32, 96, 288];
  return [32, 37, 288]; // float types take any row length
};

describe.each(Object.keys(CPU_KERNEL_TYPES) as CpuKernelType[])('matmul_%s', (t) => {
  const act = CPU_KERNEL_TYPES[t];
  for (const cols of colsFor(t)) {
    for (const [rows, ntok] of [
      [1, 1],
      [5, 1],
      [3, 4],
      [7, 6],
    ] as const) {
      it(`${rows}×${cols}, ${ntok} token(s): within (cols/8 + 16)·u·Σ|w·x| of dequantize + float64 dot, accumulating`, async () => {
        const rand = rng(cols * 131 + rows * 7 + ntok);
        const a = await Arena.create();
        const bytes = randomMatrix(t, rows, cols, rand);
        const w = dequantize(parseTypeName(t), bytes, rows * cols);
        const pw = a.put(bytes);
        const x = randomF32(ntok * cols, rand, 2);
        const px = a.put(x);
        // what the kernel multiplies by: the float32 x (rounded for F16/BF16), or the int8
        // activations as d·q
        let seen = x;
        let xq = 0;
        let xd = 0;
        let xs = 0;
        let sums: Float32Array = new Float32Array(0);
        let px2 = px;
        if (isQuantizedActivation(act)) {
          xq = a.heap.alloc(ntok * cols * 2);
          xd = a.heap.alloc((ntok * cols) / 8);
          xs = a.heap.alloc((ntok * cols) / 4);
          a.k[`quantize_${act}`](px, ntok * cols, xq, xd, xs);
          const q = new Int16Array(a.heap.memory.buffer, xq, ntok * cols);
          const d = a.f32(xd, (ntok * cols) / 32);
          seen = Float32Array.from(q, (v, i) => v * d[i >> 5]!);
          sums = a.f32(xs, (ntok * cols) / 16);
        } else if (act !== 'f32') {
          px2 = a.heap.alloc(ntok * cols * 4 + 16);
          a.k[`round_${act}`](px, ntok * cols, px2);
          seen = a.f32(px2, ntok * cols).slice();
        }
        const out = a.put(new Float32Array(ntok * rows + 4).fill(7)); // the tail guards against overwrite
        const prior = randomF32(ntok * rows, rand);
        const acc = a.put(Float32Array.from([...prior, 7, 7, 7, 7]));
        const kernel = a.k[`matmul_${t}`];
        const args = isQuantizedActivation(act) ? [xq, xd, xs] : [px2, 0, 0];
        kernel(out, pw, rows, cols, args[0]!, args[1]!, args[2]!, ntok, 0);
        kernel(acc, pw, rows, cols, args[0]!, args[1]!, args[2]!, ntok, 1);
        const got = a.f32(out, ntok * rows + 4);
        const gotAcc = a.f32(acc, ntok * rows + 4);
        for (let k = 0; k < ntok; k++) {
          for (let r = 0; r < rows; r++) {
            let exact = 0;
            let mag = 0;
            for (let c = 0; c < cols; c++) {
              const p = w[r * cols + c]! * seen[k * cols + c]!;
              exact += p;
              mag += Math.abs(p);
            }
            // Q4_1/Q5_1: the block's min m multiplies Q8_1's s = f16(d·Σq), not Σ d16·q
            if (t === 'Q4_1' || t === 'Q5_1') {
              const bb = geometry(t).blockBytes;
              for (let b = 0; b < cols / 32; b++) {
                const m = f16ToF32(
                  new DataView(bytes.buffer).getUint16((r * (cols / 32) + b) * bb + 2, true),
                );
                let seenSum = 0;
                for (let j = 0; j < 32; j++) seenSum += seen[k * cols + 32 * b + j]!;
                exact += m * (sums[(k * cols) / 16 + 2 * b]! - seenSum);
              }
            }
            // integer sums are exact; each 16..32-value group adds a few float32 roundings
            const bound = (cols / 8 + 16) * U * mag + 1e-30;
            const i = k * rows + r;
            expect(Math.abs(got[i]! - exact)).toBeLessThanOrEqual(bound);
            expect(Math.abs(gotAcc[i]! - (exact + prior[i]!))).toBeLessThanOrEqual(
              bound + 4 * U * Math.abs(prior[i]!),
            );
          }
        }
        expect([...got.subarray(ntok * rows)]).toEqual([7, 7, 7, 7]);
        expect([...gotAcc.subarray(ntok * rows)]).toEqual([7, 7, 7, 7]);
      });
    }
  }
});
