import { GGMLType } from '../../src/formats/ggml-types.js';
import { dequantizeNBits, quantizeNBits } from '../../src/formats/onnx/matmul-nbits.js';
import { TensorName as T } from '../../src/model/config.js';
import type { ModelFile, TensorInfo } from '../../src/model/model-file.js';
import { readF32 } from '../../src/reference/weights.js';

/**
 * The model the CPU reference must run to judge a MatMulNBits export: every linear layer replaced
 * by its own quantize→dequantize round trip, the classifier untied (the export quantizes lm_head
 * but gathers embeddings in float32). Both sides then compute with the same numbers.
 */
export async function roundTripModel(model: ModelFile, bits: 4 | 8): Promise<ModelFile> {
  const c = model.config;
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const data = new Map<string, Float32Array>();
  const infos: TensorInfo[] = [];
  const put = (name: string, shape: number[], values: Float32Array) => {
    data.set(name, values);
    infos.push({ name, type: GGMLType.F32, shape, offset: 0, byteLength: values.byteLength });
  };
  const linear = async (name: string, n: number, k: number, source = name) => {
    const w = await readF32(model, source, n * k);
    put(name, [k, n], dequantizeNBits(quantizeNBits(w, n, k, bits), n, k, bits));
  };
  const vector = async (name: string, n: number) => put(name, [n], await readF32(model, name, n));
  for (let l = 0; l < c.nLayers; l++) {
    await vector(T.attnNorm(l), c.dim);
    await linear(T.attnQ(l), qDim, c.dim);
    await linear(T.attnK(l), kvDim, c.dim);
    await linear(T.attnV(l), kvDim, c.dim);
    await linear(T.attnOutput(l), c.dim, qDim);
    await vector(T.ffnNorm(l), c.dim);
    await linear(T.ffnGate(l), c.hiddenDim, c.dim);
    await linear(T.ffnUp(l), c.hiddenDim, c.dim);
    await linear(T.ffnDown(l), c.dim, c.hiddenDim);
  }
  await vector(T.outputNorm, c.dim);
  put(T.tokenEmbd, [c.dim, c.vocabSize], await readF32(model, T.tokenEmbd, c.vocabSize * c.dim));
  await linear(T.output, c.vocabSize, c.dim, c.tiedEmbeddings ? T.tokenEmbd : T.output);
  return {
    ...model,
    config: { ...c, tiedEmbeddings: false },
    tensors: infos,
    async readTensor(info) {
      const values = data.get(info.name)!;
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    },
  };
}
