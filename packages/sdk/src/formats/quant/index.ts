import { EdgeLMError } from '../../errors.js';
import { GGML_BLOCK, GGMLType, typeName } from '../ggml-types.js';
import { dequantizeBF16, quantizeBF16 } from './bf16.js';
import { dequantizeF16, quantizeF16 } from './f16.js';
import { dequantizeIQ4_NL, dequantizeIQ4_XS, quantizeIQ4_NL, quantizeIQ4_XS } from './iq4.js';
import { dequantizeQ2_K, quantizeQ2_K } from './q2_k.js';
import { dequantizeQ3_K, quantizeQ3_K } from './q3_k.js';
import { dequantizeQ4_0, quantizeQ4_0 } from './q4_0.js';
import { dequantizeQ4_1, quantizeQ4_1 } from './q4_1.js';
import { dequantizeQ4_K, quantizeQ4_K } from './q4_k.js';
import { dequantizeQ5_0, dequantizeQ5_1, quantizeQ5_0, quantizeQ5_1 } from './q5.js';
import { dequantizeQ5_K, quantizeQ5_K } from './q5_k.js';
import { dequantizeQ6_K, quantizeQ6_K } from './q6_k.js';
import { dequantizeQ8_0, quantizeQ8_0 } from './q8_0.js';

export { bf16ToF32, f32ToBf16 } from './bf16.js';
export { f16ToF32, f32ToF16 } from './f16.js';
export { KVALUES_IQ4NL } from './iq4.js';

function wholeBlocks(type: GGMLType, count: number): number {
  const { blockSize, blockBytes } = GGML_BLOCK[type];
  if (!Number.isSafeInteger(count) || count < 0 || count % blockSize !== 0) {
    throw new EdgeLMError('INVALID_ARGUMENT', `${count} values are not whole ${typeName(type)} blocks`, {
      count,
      blockSize,
    });
  }
  return (count / blockSize) * blockBytes;
}

function dequantizeF32(bytes: Uint8Array, count: number, out: Float32Array): void {
  // Tensor bytes may start at any offset of their buffer, so copy bytewise into the output.
  new Uint8Array(out.buffer, out.byteOffset, count * 4).set(bytes.subarray(0, count * 4));
}

const DEQUANTIZERS: Record<GGMLType, (bytes: Uint8Array, count: number, out: Float32Array) => void> = {
  [GGMLType.F32]: dequantizeF32,
  [GGMLType.F16]: dequantizeF16,
  [GGMLType.BF16]: dequantizeBF16,
  [GGMLType.Q8_0]: dequantizeQ8_0,
  [GGMLType.Q4_0]: dequantizeQ4_0,
  [GGMLType.Q4_1]: dequantizeQ4_1,
  [GGMLType.Q5_0]: dequantizeQ5_0,
  [GGMLType.Q5_1]: dequantizeQ5_1,
  [GGMLType.Q2_K]: dequantizeQ2_K,
  [GGMLType.Q3_K]: dequantizeQ3_K,
  [GGMLType.Q4_K]: dequantizeQ4_K,
  [GGMLType.Q5_K]: dequantizeQ5_K,
  [GGMLType.Q6_K]: dequantizeQ6_K,
  [GGMLType.IQ4_NL]: dequantizeIQ4_NL,
  [GGMLType.IQ4_XS]: dequantizeIQ4_XS,
};

/**
 * Decodes `count` values stored as `type` (little-endian, llama.cpp block layouts) to floats.
 *
 * @example
 * ```ts
 * const w = dequantize(info.type, await model.readTensor(info), info.shape[0] * info.shape[1]);
 * ```
 */
export function dequantize(
  type: GGMLType,
  bytes: Uint8Array,
  count: number,
  out: Float32Array = new Float32Array(count),
): Float32Array {
  const need = wholeBlocks(type, count);
  if (bytes.byteLength < need) {
    throw new EdgeLMError('TRUNCATED', `${typeName(type)} data has ${bytes.byteLength} of ${need} bytes`, {
      type,
      bytes: bytes.byteLength,
      need,
    });
  }
  if (out.length < count) {
    throw new EdgeLMError('INVALID_ARGUMENT', `Output holds ${out.length} of ${count} values`, { count });
  }
  DEQUANTIZERS[type](bytes, count, out);
  return out;
}

const QUANTIZERS: Record<GGMLType, (x: Float32Array) => Uint8Array> = {
  [GGMLType.F32]: (x) => new Uint8Array(x.slice().buffer),
  [GGMLType.F16]: quantizeF16,
  [GGMLType.BF16]: quantizeBF16,
  [GGMLType.Q8_0]: quantizeQ8_0,
  [GGMLType.Q4_0]: quantizeQ4_0,
  [GGMLType.Q4_1]: quantizeQ4_1,
  [GGMLType.Q5_0]: quantizeQ5_0,
  [GGMLType.Q5_1]: quantizeQ5_1,
  [GGMLType.Q2_K]: quantizeQ2_K,
  [GGMLType.Q3_K]: quantizeQ3_K,
  [GGMLType.Q4_K]: quantizeQ4_K,
  [GGMLType.Q5_K]: quantizeQ5_K,
  [GGMLType.Q6_K]: quantizeQ6_K,
  [GGMLType.IQ4_NL]: quantizeIQ4_NL,
  [GGMLType.IQ4_XS]: quantizeIQ4_XS,
};

/**
 * Encodes floats as `type` with llama.cpp's reference quantizers (no importance matrix), so
 * files match what llama-quantize writes.
 *
 * @example
 * ```ts
 * const bytes = quantize(GGMLType.Q4_K, weights); // weights.length % 256 === 0
 * ```
 */
export function quantize(type: GGMLType, x: Float32Array): Uint8Array {
  wholeBlocks(type, x.length);
  return QUANTIZERS[type](x);
}
