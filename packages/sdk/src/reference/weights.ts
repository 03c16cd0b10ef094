import { EdgeLMError } from '../errors.js';
import { GGMLType } from '../formats/ggml-types.js';
import { dequantize } from '../formats/quant/index.js';
import { TensorName as T } from '../model/config.js';
import type { ModelFile, TensorInfo } from '../model/model-file.js';

/** All weights of a decoder as float32, named as in llama2.c's TransformerWeights. */
export interface LayerWeights {
  rmsAtt: Float32Array; // (dim)
  wq: Float32Array; // (nHeads * headDim, dim)
  wk: Float32Array; // (nKvHeads * headDim, dim)
  wv: Float32Array; // (nKvHeads * headDim, dim)
  bq?: Float32Array; // (nHeads * headDim) qwen2 only
  bk?: Float32Array; // (nKvHeads * headDim)
  bv?: Float32Array; // (nKvHeads * headDim)
  qNorm?: Float32Array; // (headDim) qwen3, gemma3
  kNorm?: Float32Array; // (headDim)
  wo: Float32Array; // (dim, nHeads * headDim)
  postAttnNorm?: Float32Array; // (dim) gemma3
  rmsFfn: Float32Array; // (dim)
  postFfnNorm?: Float32Array; // (dim) gemma3
  w1: Float32Array; // (hiddenDim, dim) gate
  w2: Float32Array; // (dim, hiddenDim) down
  w3: Float32Array; // (hiddenDim, dim) up
}

export interface Weights {
  tokenEmbedding: Float32Array; // (vocab, dim)
  layers: LayerWeights[];
  rmsFinal: Float32Array; // (dim)
  wcls: Float32Array; // (vocab, dim), the embedding itself when tied
  ropeFactors: Float32Array | null; // (ropeDims / 2) rope_freqs / rope_factors_*
}

/** Reads one tensor and dequantizes it to float32, checking it has the element count expected. */
export async function readF32(model: ModelFile, name: string, elements: number): Promise<Float32Array> {
  const info: TensorInfo | undefined = model.tensors.find((t) => t.name === name);
  if (!info) throw new EdgeLMError('CORRUPT', `The model has no tensor ${name}`, { tensor: name });
  const count = info.shape.reduce((a, b) => a * b, 1);
  if (count !== elements) {
    throw new EdgeLMError('CORRUPT', `Tensor ${name} has ${count} elements, expected ${elements}`, {
      tensor: name,
    });
  }
  const bytes = await model.readTensor(info);
  if (info.type === GGMLType.F32) {
    // Copy: the bytes may be a view into a larger, unaligned buffer.
    const out = new Float32Array(elements);
    new Uint8Array(out.buffer).set(bytes.subarray(0, elements * 4));
    return out;
  }
  return dequantize(info.type, bytes, elements);
}

export async function loadWeights(model: ModelFile): Promise<Weights> {
  const c = model.config;
  const kvDim = c.nKvHeads * c.headDim;
  const qDim = c.nHeads * c.headDim;
  const has = (n: string) => model.tensors.some((t) => t.name === n);
  const f = c.features;
  const opt = (use: boolean, name: string, n: number) => (use ? readF32(model, name, n) : undefined);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      rmsAtt: await readF32(model, T.attnNorm(l), c.dim),
      wq: await readF32(model, T.attnQ(l), qDim * c.dim),
      wk: await readF32(model, T.attnK(l), kvDim * c.dim),
      wv: await readF32(model, T.attnV(l), kvDim * c.dim),
      bq: has(T.attnQBias(l)) ? await readF32(model, T.attnQBias(l), qDim) : undefined,
      bk: has(T.attnKBias(l)) ? await readF32(model, T.attnKBias(l), kvDim) : undefined,
      bv: has(T.attnVBias(l)) ? await readF32(model, T.attnVBias(l), kvDim) : undefined,
      qNorm: await opt(f.qkNorm, T.attnQNorm(l), c.headDim),
      kNorm: await opt(f.qkNorm, T.attnKNorm(l), c.headDim),
      wo: await readF32(model, T.attnOutput(l), c.dim * qDim),
      postAttnNorm: await opt(f.postNorms, T.attnPostNorm(l), c.dim),
      rmsFfn: await readF32(model, T.ffnNorm(l), c.dim),
      postFfnNorm: await opt(f.postNorms, T.ffnPostNorm(l), c.dim),
      w1: await readF32(model, T.ffnGate(l), c.hiddenDim * c.dim),
      w2: await readF32(model, T.ffnDown(l), c.dim * c.hiddenDim),
      w3: await readF32(model, T.ffnUp(l), c.hiddenDim * c.dim),
    });
  }
  const tokenEmbedding = await readF32(model, T.tokenEmbd, c.vocabSize * c.dim);
  return {
    tokenEmbedding,
    layers,
    rmsFinal: await readF32(model, T.outputNorm, c.dim),
    wcls: c.tiedEmbeddings ? tokenEmbedding : await readF32(model, T.output, c.vocabSize * c.dim),
    ropeFactors: f.rope.factors ? await readF32(model, f.rope.factors, f.rope.dims / 2) : null,
  };
}
