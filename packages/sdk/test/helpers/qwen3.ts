import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesSource } from '../../src/formats/byte-source.js';
import { GgufMetadata } from '../../src/formats/gguf/metadata.js';
import { readGgufHeader } from '../../src/formats/gguf/reader.js';
import { ggufTokenizer } from '../../src/formats/gguf/tokenizer.js';
import type { ModelConfig } from '../../src/model/config.js';
import { llamaFeatures } from '../../src/model/features.js';
import type { ModelFile } from '../../src/model/model-file.js';
import { syntheticModel } from '../../src/synth/synthetic-model.js';
import type { TokenizerData } from '../../src/tokenizer/tokenizer-data.js';
import { modelsDir } from './models.js';

/** Qwen3's tokenizer (151k tokens) and chat template, from the shared tokenizer-only GGUF. */
export async function qwen3Tokenizer(): Promise<{ tokenizer: TokenizerData; chatTemplate: string }> {
  const bytes = new Uint8Array(await readFile(join(modelsDir(), '..', 'tokenizers', 'tok-qwen3.gguf')));
  const header = await readGgufHeader(bytesSource(bytes, 'tok-qwen3.gguf'));
  const md = new GgufMetadata(header.metadata);
  return { tokenizer: ggufTokenizer(md), chatTemplate: md.string('tokenizer.chat_template') };
}

/** A tiny random-weight model speaking Qwen3's vocabulary and template: the 150k-vocabulary worst case. */
export async function randomQwen3Model(): Promise<ModelFile> {
  const { tokenizer, chatTemplate } = await qwen3Tokenizer();
  const config: ModelConfig = {
    arch: 'llama',
    dim: 16,
    hiddenDim: 32,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 2,
    headDim: 8,
    vocabSize: tokenizer.tokens.length,
    contextLength: 512,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'interleaved',
    tiedEmbeddings: true,
    qkvBias: false,
    features: llamaFeatures(8),
  };
  return { ...syntheticModel(config, 3), tokenizer, chatTemplate };
}
