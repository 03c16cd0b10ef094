/**
 * The kernels' CPU reference (ggml's dequantizers, ported in packages/kernels) against the SDK's
 * own dequantizers (formats/quant, the CPU reference model's): two independent ports of
 * ggml-quants.c must agree bit for bit on every type, on random blocks that exercise every bit.
 */
import { dequantGguf, randomBlocks, WEIGHT_TYPES, type WeightType } from '@edgelm/kernels';
import { describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { isEdgeLMError } from '../src/errors.js';
import { GGMLType, type GGMLType as SupportedType } from '../src/formats/ggml-types.js';
import { dequantize } from '../src/formats/quant/index.js';
import { syntheticQuantizedModel } from '../src/synth/quantized-model.js';
import { dawnDevice } from './helpers/webgpu.js';

const BLOCK_TYPES = (Object.keys(WEIGHT_TYPES) as WeightType[]).filter((t) => WEIGHT_TYPES[t].blockElems > 1);

function rand(seed: number) {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('WebGPU weight types', () => {
  it.each(BLOCK_TYPES)('%s: the kernels’ reference and the SDK’s dequantizer agree bit for bit', (type) => {
    const n = 4 * WEIGHT_TYPES[type].blockElems;
    const bytes = randomBlocks(type, n, rand(n + type.length), 0.5);
    const sdk = dequantize(WEIGHT_TYPES[type].ggml as SupportedType, bytes, n);
    expect(dequantGguf(type, bytes, n)).toEqual(sdk);
  });

  it('refuses a type it cannot read with UNSUPPORTED_TYPE naming the type and tensor', async () => {
    const model = syntheticQuantizedModel('stories15M', 'Q8_0');
    const t = model.tensors.find((x) => x.name === 'blk.1.ffn_up.weight')!;
    t.type = GGMLType.IQ2_XXS as unknown as SupportedType;
    const err = await createWebGpuBackend(model, { device: await dawnDevice(), pageCount: 4 }).catch(
      (e: unknown) => e,
    );
    expect(isEdgeLMError(err) && err.code).toBe('UNSUPPORTED_TYPE');
    expect(String((err as Error).message)).toMatch(/IQ2_XXS.*blk\.1\.ffn_up\.weight/);
  });
});
