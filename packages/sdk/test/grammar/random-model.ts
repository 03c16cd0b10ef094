import { llamaFeatures } from '../../src/model/features.js';
import type { ModelFile } from '../../src/model/model-file.js';
import { syntheticModel } from '../../src/synth/synthetic-model.js';

/**
 * A tiny random-weight llama over a 1,024-token synthetic vocabulary: left alone it never writes
 * JSON or a tool call, so every valid output is the grammar's.
 */
export function randomGrammarModel(seed: number): ModelFile {
  return syntheticModel(
    {
      arch: 'llama',
      dim: 32,
      hiddenDim: 64,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 2,
      headDim: 16,
      vocabSize: 1024,
      contextLength: 256,
      normEps: 1e-5,
      ropeTheta: 10000,
      ropeStyle: 'interleaved',
      tiedEmbeddings: true,
      qkvBias: false,
      features: llamaFeatures(16),
    },
    seed,
  );
}
