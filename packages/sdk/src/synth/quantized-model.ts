import { randomBlocks, WEIGHT_TYPES, type WeightType } from '@edgelm/kernels';
import { EdgeLMError } from '../errors.js';
import type { GGMLType } from '../formats/ggml-types.js';
import { f32ToF16 } from '../formats/quant/f16.js';
import { type ModelConfig, TensorName as T } from '../model/config.js';
import type { ModelFile, TensorInfo } from '../model/model-file.js';
import { hash32 } from '../sampler/rng.js';
import { SHAPES, type ShapeName } from './shapes.js';
import { syntheticModel } from './synthetic-model.js';

/**
 * A file type as llama.cpp's quantizer mixes it: `Q4_K_M`/`Q5_K_M` keep the output in Q6_K and
 * attn_v/ffn_down in Q6_K on the layers `use_more_bits` picks (the first and last eighth, every
 * third between); every other name puts all matrices in that one type.
 */
export type QuantMix = 'Q4_K_M' | 'Q5_K_M' | Uppercase<WeightType>;

function useMoreBits(i: number, n: number): boolean {
  return i < n / 8 || i >= (7 * n) / 8 || (i - Math.floor(n / 8)) % 3 === 2;
}

/** The type a tensor gets under `mix` (llama_tensor_get_type for the K_M mixes). */
export function mixType(mix: QuantMix, name: string, nLayers: number): WeightType {
  if (mix !== 'Q4_K_M' && mix !== 'Q5_K_M') return mix.toLowerCase() as WeightType;
  const base = mix === 'Q4_K_M' ? 'q4_k' : 'q5_k';
  if (name === T.output) return 'q6_k';
  const m = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(name);
  if (m && useMoreBits(Number(m[1]), nLayers)) return 'q6_k';
  return base;
}

/**
 * A model of a real architecture whose matrices are random blocks of the `mix`'s types,
 * generated tensor by tensor as they are read (nothing is held): load and throughput
 * material for shapes no trained file is at hand for (a TinyLlama-1.1B Q4_K_M is ~640 MB).
 * Norm weights are 1; block scales keep each row's values O(1/√cols), like a trained model's.
 *
 * @example
 * ```ts
 * const model = syntheticQuantizedModel('tinyllama-1.1b', 'Q4_K_M');
 * const backend = await createWebGpuBackend(model, { device, bufferLimit: 128 << 20 });
 * ```
 */
export function syntheticQuantizedModel(shape: ShapeName | ModelConfig, mix: QuantMix, seed = 1): ModelFile {
  const base = syntheticModel(shape, seed);
  const c = typeof shape === 'string' ? SHAPES[shape] : shape;
  let offset = 0;
  const tensors: TensorInfo[] = base.tensors.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    let type: WeightType = 'f32';
    if (t.shape.length > 1) {
      type = mixType(mix, t.name, c.nLayers);
      const info = WEIGHT_TYPES[type];
      if (!info) throw new EdgeLMError('INVALID_ARGUMENT', `Unknown quantization mix ${mix}`);
      if (t.shape[0]! % info.blockElems !== 0) {
        throw new EdgeLMError(
          'INVALID_ARGUMENT',
          `${t.name}: rows of ${t.shape[0]} are not whole ${info.name} blocks`,
        );
      }
    }
    const info = WEIGHT_TYPES[type];
    const byteLength = (count / info.blockElems) * info.blockBytes;
    const out = { ...t, type: info.ggml as GGMLType, offset, byteLength };
    offset += byteLength;
    return out;
  });
  return {
    ...base,
    metadata: { ...base.metadata, 'general.name': `synthetic-${String(shape)}-${mix}` },
    tensors,
    async readTensor(info) {
      const count = info.shape.reduce((a, b) => a * b, 1);
      if (info.shape.length === 1) return new Uint8Array(new Float32Array(count).fill(1).buffer);
      const scale = 1 / Math.sqrt(info.shape[0]!);
      const type = mixType(mix, info.name, c.nLayers);
      let s = seed >>> 0;
      for (let i = 0; i < info.name.length; i++) s = hash32(s ^ info.name.charCodeAt(i));
      s ||= 1;
      const rand = () => {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        return (s >>> 0) / 4294967296;
      };
      if (type === 'f32' || type === 'f16' || type === 'bf16') {
        const v = new Float32Array(count);
        for (let i = 0; i < count; i++) v[i] = (rand() * 2 - 1) * scale;
        if (type === 'f32') return new Uint8Array(v.buffer);
        const h = new Uint16Array(count);
        const u = new Uint32Array(v.buffer);
        for (let i = 0; i < count; i++) h[i] = type === 'f16' ? f32ToF16(v[i]!) : u[i]! >>> 16;
        return new Uint8Array(h.buffer);
      }
      return randomBlocks(type, count, rand, scale);
    },
  };
}
