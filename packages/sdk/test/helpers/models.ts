import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesSource } from '../../src/formats/byte-source.js';
import { openLlama2c } from '../../src/formats/llama2c/index.js';
import type { ModelFile } from '../../src/model/model-file.js';

/** The directory tests read models from; CI points it at ../shared/models. */
export function modelsDir(): string {
  const dir = process.env.EDGELM_MODELS_DIR;
  if (!dir) throw new Error('EDGELM_MODELS_DIR is not set');
  return dir;
}

export async function modelBytes(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(modelsDir(), name)));
}

/** stories260K.bin with tok512.bin, opened from memory. */
export async function openStories260K(): Promise<ModelFile> {
  const [bin, tok] = await Promise.all([modelBytes('stories260K.bin'), modelBytes('tok512.bin')]);
  return openLlama2c(bytesSource(bin, 'stories260K.bin'), bytesSource(tok, 'tok512.bin'));
}

export const REFERENCE_OPENING =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';
