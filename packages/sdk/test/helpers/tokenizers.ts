import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesSource } from '../../src/formats/byte-source.js';
import { openGguf } from '../../src/formats/gguf/model.js';
import type { ModelFile } from '../../src/model/model-file.js';
import { modelsDir } from './models.js';

/** The real vocabularies of ../shared/tokenizers, named as test-tokenizer-0.json names them. */
export const VOCABS = ['llama2', 'llama3', 'qwen3'] as const;
export type VocabName = (typeof VOCABS)[number];

export function tokenizersDir(): string {
  return join(modelsDir(), '..', 'tokenizers');
}

/** `tok-<name>.gguf`, opened from memory. */
export async function openVocab(name: VocabName): Promise<ModelFile> {
  const bytes = new Uint8Array(await readFile(join(tokenizersDir(), `tok-${name}.gguf`)));
  return openGguf(bytesSource(bytes, `tok-${name}.gguf`));
}

/** llama.cpp's tokenizer test inputs and the ids llama.cpp makes of them, per vocabulary. */
export async function tokenizerCases(): Promise<{
  inputs: string[];
  expected: Record<VocabName, number[][]>;
}> {
  return JSON.parse(await readFile(join(tokenizersDir(), 'test-tokenizer-0.json'), 'utf8'));
}
