import { EdgeLMError } from '../../errors.js';
import { type ModelConfig, TensorName } from '../../model/config.js';
import type { TensorInfo } from '../../model/model-file.js';
import { ARCHITECTURES, isArchitecture } from './architectures.js';
import { splitFusedTensors } from './fused.js';
import type { GgufMetadata } from './metadata.js';

/** Shapes compare without trailing 1s, as writers differ on whether to store them. */
function sameShape(a: number[], b: number[]): boolean {
  const trim = (s: number[]) => {
    const t = [...s];
    while (t.length > 1 && t[t.length - 1] === 1) t.pop();
    return t;
  };
  const x = trim(a);
  const y = trim(b);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/**
 * `{arch}.*` hyperparameters → ModelConfig (the architecture's own reader adds its features),
 * checked against the tensors the forward pass will read, so a file whose shapes disagree with
 * its metadata fails here (CORRUPT), not mid-decode. Returns the tensors with fused ones split.
 */
export function ggufModelConfig(
  md: GgufMetadata,
  fileTensors: TensorInfo[],
  vocabSize: number,
): { config: ModelConfig; tensors: TensorInfo[] } {
  const arch = md.string('general.architecture');
  if (!isArchitecture(arch)) {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      `Architecture "${arch}" is not supported (${Object.keys(ARCHITECTURES).join(', ')} are)`,
      { architecture: arch },
    );
  }
  const dim = md.int(`${arch}.embedding_length`, 1, 1 << 20);
  const nHeads = md.int(`${arch}.attention.head_count`, 1, 1 << 12);
  const nKvHeads = md.int(`${arch}.attention.head_count_kv`, 1, nHeads, nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new EdgeLMError('CORRUPT', `${nHeads} heads do not group into ${nKvHeads} KV heads`, {
      nHeads,
      nKvHeads,
    });
  }
  if (!md.has(`${arch}.attention.key_length`) && dim % nHeads !== 0) {
    throw new EdgeLMError('CORRUPT', `Width ${dim} does not split into ${nHeads} heads`, { dim, nHeads });
  }
  const headDim = md.int(`${arch}.attention.key_length`, 2, 1 << 16, dim / nHeads);
  const nLayers = md.int(`${arch}.block_count`, 1, 1 << 12);
  const contextLength = md.int(`${arch}.context_length`, 1, 1 << 24);
  const names = new Set(fileTensors.map((t) => t.name));
  const has = (n: string) => names.has(n);
  const { ropeStyle, features } = ARCHITECTURES[arch]({
    md,
    has,
    arch,
    dim,
    headDim,
    nHeads,
    nLayers,
    contextLength,
  });
  const config: ModelConfig = {
    arch,
    dim,
    hiddenDim: md.int(`${arch}.feed_forward_length`, 1, 1 << 22),
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    vocabSize,
    contextLength,
    normEps: md.positive(`${arch}.attention.layer_norm_rms_epsilon`, 1e-5),
    ropeTheta: md.positive(`${arch}.rope.freq_base`, 10000),
    ropeStyle,
    tiedEmbeddings: !has(TensorName.output),
    qkvBias: has(TensorName.attnQBias(0)),
    features,
  };
  const tensors = splitFusedTensors(config, fileTensors);
  checkTensors(config, tensors);
  return { config, tensors };
}

/** The config alone (see {@link ggufModelConfig}). */
export function ggufConfig(md: GgufMetadata, tensors: TensorInfo[], vocabSize: number): ModelConfig {
  return ggufModelConfig(md, tensors, vocabSize).config;
}

/** Every tensor the forward pass reads exists with the shape the config implies (GGUF order). */
export function checkTensors(c: ModelConfig, tensors: TensorInfo[]): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const f = c.features;
  const expect = (name: string, shape: number[]) => {
    const t = byName.get(name);
    if (!t) throw new EdgeLMError('CORRUPT', `Tensor "${name}" is missing`, { tensor: name });
    if (!sameShape(t.shape, shape)) {
      throw new EdgeLMError('CORRUPT', `Tensor "${name}" has shape [${t.shape}], expected [${shape}]`, {
        tensor: name,
      });
    }
  };
  expect(TensorName.tokenEmbd, [c.dim, c.vocabSize]);
  expect(TensorName.outputNorm, [c.dim]);
  if (!c.tiedEmbeddings) expect(TensorName.output, [c.dim, c.vocabSize]);
  if (f.rope.factors) expect(f.rope.factors, [f.rope.dims / 2]);
  for (let l = 0; l < c.nLayers; l++) {
    expect(TensorName.attnNorm(l), [c.dim]);
    expect(TensorName.attnQ(l), [c.dim, q]);
    expect(TensorName.attnK(l), [c.dim, kv]);
    expect(TensorName.attnV(l), [c.dim, kv]);
    expect(TensorName.attnOutput(l), [q, c.dim]);
    expect(TensorName.ffnNorm(l), [c.dim]);
    expect(TensorName.ffnGate(l), [c.dim, c.hiddenDim]);
    expect(TensorName.ffnUp(l), [c.dim, c.hiddenDim]);
    expect(TensorName.ffnDown(l), [c.hiddenDim, c.dim]);
    if (c.qkvBias) {
      expect(TensorName.attnQBias(l), [q]);
      expect(TensorName.attnKBias(l), [kv]);
      expect(TensorName.attnVBias(l), [kv]);
    }
    if (f.qkNorm) {
      expect(TensorName.attnQNorm(l), [c.headDim]);
      expect(TensorName.attnKNorm(l), [c.headDim]);
    }
    if (f.postNorms) {
      expect(TensorName.attnPostNorm(l), [c.dim]);
      expect(TensorName.ffnPostNorm(l), [c.dim]);
    }
  }
}
