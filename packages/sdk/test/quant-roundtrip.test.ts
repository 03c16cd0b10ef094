/**
 * quantize → dequantize for every type: error bounds on synthetic weights, and agreement with
 * llama.cpp's own quantizer on the real files (quantizing the weights of wide-F16.gguf must
 * reproduce most blocks of llama.cpp's wide-<TYPE>.gguf byte for byte; llama.cpp quantized from
 * the f32 weights, whose f16 rounding flips a scale choice in the rest).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { GGML_BLOCK, GGMLType, SUPPORTED_TYPES, typeName } from '../src/formats/ggml-types.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { dequantize, f16ToF32, f32ToF16, quantize } from '../src/formats/quant/index.js';
import { modelsDir } from './helpers/models.js';
import { seededFloats } from './helpers/tiny-gguf.js';

/** Roughly Gaussian weights (sum of uniforms) with a few outliers, as trained matrices have. */
function weights(n: number, seed: number): Float32Array {
  const u = [seededFloats(n, seed), seededFloats(n, seed + 1), seededFloats(n, seed + 2)];
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (u[0][i] + u[1][i] + u[2][i]) * 0.02 * (i % 97 === 0 ? 6 : 1);
  return x;
}

function rmsRatio(x: Float32Array, y: Float32Array): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    e += (x[i] - y[i]) ** 2;
    s += x[i] ** 2;
  }
  return Math.sqrt(e / s);
}

/** RMS error / RMS of the weights: ~15 % over what these (llama.cpp's) quantizers reach here. */
const MAX_RMS_RATIO: Record<GGMLType, number> = {
  [GGMLType.F32]: 0,
  [GGMLType.F16]: 3e-4,
  [GGMLType.BF16]: 2e-3,
  [GGMLType.Q8_0]: 0.009,
  [GGMLType.Q6_K]: 0.026,
  [GGMLType.Q5_K]: 0.048,
  [GGMLType.Q5_1]: 0.05,
  [GGMLType.Q5_0]: 0.072,
  [GGMLType.Q4_K]: 0.094,
  [GGMLType.Q4_1]: 0.1,
  [GGMLType.IQ4_NL]: 0.108,
  [GGMLType.IQ4_XS]: 0.113,
  [GGMLType.Q4_0]: 0.14,
  [GGMLType.Q3_K]: 0.21,
  [GGMLType.Q2_K]: 0.38,
};

const f16 = (x: number) => f16ToF32(f32ToF16(x));

describe.each(SUPPORTED_TYPES.map((t) => [typeName(t), t] as const))('%s round trip', (_n, type) => {
  const { blockSize, blockBytes } = GGML_BLOCK[type];

  it('reconstructs Gaussian-like weights within its error ratio', () => {
    const x = weights(256 * 64, 5 + type);
    const q = quantize(type, x);
    expect(q.length).toBe((x.length / blockSize) * blockBytes);
    const ratio = rmsRatio(x, dequantize(type, q, x.length));
    console.log(`${typeName(type).padEnd(7)} rms error / rms ${ratio.toFixed(4)}`);
    expect(ratio).toBeLessThanOrEqual(MAX_RMS_RATIO[type]);
  });

  it('keeps an all-zero block zero and is deterministic', () => {
    const z = dequantize(
      type,
      quantize(type, new Float32Array(Math.max(blockSize, 32))),
      Math.max(blockSize, 32),
    );
    expect([...z].every((v) => v === 0)).toBe(true);
    const x = weights(Math.max(blockSize, 32) * 4, 99);
    expect(quantize(type, x)).toEqual(quantize(type, x));
  });

  it.runIf(blockSize > 1)('refuses 255 and 257 values', () => {
    for (const n of [255, 257]) expect(() => quantize(type, new Float32Array(n))).toThrow(/not whole/);
  });
});

describe('legacy types stay within half a step of their scale', () => {
  // Per value: |x − y| ≤ d/2 plus what storing d (and m) as f16 costs over the block.
  const x = weights(32 * 512, 41);
  it.each([
    ['Q4_1', GGMLType.Q4_1, 15],
    ['Q5_1', GGMLType.Q5_1, 31],
  ] as const)('%s: d = (max − min)/%i', (_n, type, levels) => {
    const y = dequantize(type, quantize(type, x), x.length);
    for (let b = 0; b < x.length / 32; b++) {
      const xs = x.subarray(b * 32, b * 32 + 32);
      const min = Math.min(...xs);
      const d = (Math.max(...xs) - min) / levels;
      const slack = levels * Math.abs(f16(d) - d) + Math.abs(f16(min) - min) + 1e-7;
      for (let j = 0; j < 32; j++) expect(Math.abs(xs[j] - y[b * 32 + j])).toBeLessThanOrEqual(d / 2 + slack);
    }
  });

  it('Q5_0: d = max/−16, the side opposite the max clamped at 15|d|', () => {
    const y = dequantize(GGMLType.Q5_0, quantize(GGMLType.Q5_0, x), x.length);
    for (let b = 0; b < x.length / 32; b++) {
      let max = 0;
      for (let j = 0; j < 32; j++) if (Math.abs(x[b * 32 + j]) > Math.abs(max)) max = x[b * 32 + j];
      const d = Math.abs(max / 16);
      const slack = 16 * Math.abs(f16(d) - d) + 1e-7;
      for (let j = 0; j < 32; j++) {
        const v = x[b * 32 + j];
        const bound = Math.sign(v) === -Math.sign(max) && Math.abs(v) > 15 * d ? d : d / 2;
        expect(Math.abs(v - y[b * 32 + j])).toBeLessThanOrEqual(bound + slack);
      }
    }
  });
});

describe('agreement with llama.cpp’s quantizer on the real files', () => {
  const dir = join(modelsDir(), 'llamacpp');
  const open = (f: string) => openGguf(bytesSource(new Uint8Array(readFileSync(join(dir, f))), f));
  /** Fraction of blocks identical to llama.cpp's, per type, at least (measured − ~5 %). */
  const cases: [string, GGMLType, number][] = [
    ['wide-Q8_0.gguf', GGMLType.Q8_0, 0.85],
    ['wide-Q4_0.gguf', GGMLType.Q4_0, 0.95],
    ['wide-Q4_1.gguf', GGMLType.Q4_1, 0.93],
    ['wide-Q5_0.gguf', GGMLType.Q5_0, 0.95],
    ['wide-Q5_1.gguf', GGMLType.Q5_1, 0.92],
    ['wide-Q2_K.gguf', GGMLType.Q2_K, 0.73],
    ['wide-Q3_K_M.gguf', GGMLType.Q3_K, 0.86],
    ['wide-Q4_K_M.gguf', GGMLType.Q4_K, 0.8],
    ['wide-Q5_K_M.gguf', GGMLType.Q5_K, 0.78],
    ['wide-Q6_K.gguf', GGMLType.Q6_K, 0.8],
    ['wide-IQ4_NL.gguf', GGMLType.IQ4_NL, 0.93],
    ['wide-IQ4_XS.gguf', GGMLType.IQ4_XS, 0.89],
  ];
  it.each(cases)('%s: %s blocks', async (file, type, minSame) => {
    const [src, ref] = await Promise.all([open('wide-F16.gguf'), open(file)]);
    const { blockBytes } = GGML_BLOCK[type];
    let same = 0;
    let blocks = 0;
    // Enough tensors for a few thousand blocks keeps the test fast.
    for (const t of ref.tensors.filter((u) => u.type === type)) {
      if (blocks >= 4096) break;
      const s = src.tensors.find((u) => u.name === t.name)!;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const mine = quantize(type, dequantize(s.type, await src.readTensor(s), n));
      const theirs = await ref.readTensor(t);
      for (let b = 0; b < mine.length / blockBytes; b++, blocks++) {
        let eq = true;
        for (let k = b * blockBytes; eq && k < (b + 1) * blockBytes; k++) eq = mine[k] === theirs[k];
        if (eq) same++;
      }
    }
    console.log(`${typeName(type).padEnd(7)} ${same}/${blocks} blocks as llama.cpp's`);
    expect(blocks).toBeGreaterThan(0);
    expect(same / blocks).toBeGreaterThanOrEqual(minSame);
  });
});
