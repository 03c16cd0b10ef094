import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesSource } from '../src/formats/byte-source.js';
import { openModel } from '../src/formats/open-model.js';
import type { ModelFile } from '../src/model/model-file.js';

/** stories260K from EDGELM_MODELS_DIR (benchmarks never download). */
export async function loadStories260K(): Promise<ModelFile> {
  const dir = process.env.EDGELM_MODELS_DIR ?? '../shared/models';
  const [bin, tok] = await Promise.all([
    readFile(join(dir, 'stories260K.bin')),
    readFile(join(dir, 'tok512.bin')),
  ]);
  return openModel(bytesSource(bin, 'stories260K.bin'), { tokenizer: bytesSource(tok, 'tok512.bin') });
}
