import type { ModelConfig } from '../model/config.js';
import { llamaFeatures } from '../model/features.js';

const llama = (
  c: Omit<
    ModelConfig,
    'arch' | 'headDim' | 'normEps' | 'ropeTheta' | 'ropeStyle' | 'tiedEmbeddings' | 'qkvBias' | 'features'
  > &
    Partial<ModelConfig>,
): ModelConfig => ({
  arch: 'llama',
  headDim: c.dim / c.nHeads,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'interleaved',
  tiedEmbeddings: true,
  qkvBias: false,
  features: llamaFeatures(c.dim / c.nHeads),
  ...c,
});

/** Real architectures, for synthetic benchmark models: llama2.c's TinyStories family and TinyLlama. */
export const SHAPES = {
  stories15M: llama({
    dim: 288,
    hiddenDim: 768,
    nLayers: 6,
    nHeads: 6,
    nKvHeads: 6,
    vocabSize: 32000,
    contextLength: 256,
  }),
  stories42M: llama({
    dim: 512,
    hiddenDim: 1376,
    nLayers: 8,
    nHeads: 8,
    nKvHeads: 8,
    vocabSize: 32000,
    contextLength: 1024,
  }),
  stories110M: llama({
    dim: 768,
    hiddenDim: 2048,
    nLayers: 12,
    nHeads: 12,
    nKvHeads: 12,
    vocabSize: 32000,
    contextLength: 1024,
  }),
  'tinyllama-1.1b': llama({
    dim: 2048,
    hiddenDim: 5632,
    nLayers: 22,
    nHeads: 32,
    nKvHeads: 4,
    vocabSize: 32000,
    contextLength: 2048,
    tiedEmbeddings: false,
  }),
} as const satisfies Record<string, ModelConfig>;

export type ShapeName = keyof typeof SHAPES;
