import { bytesSource } from '../../src/formats/byte-source.js';
import { type ConvertType, convertToGgufBytes } from '../../src/formats/convert.js';
import { openModel } from '../../src/formats/open-model.js';
import type { ModelFile } from '../../src/model/model-file.js';

/** Converts a model to GGUF in memory and opens the result, as `edgelm convert` would write it. */
export async function convertInMemory(
  model: ModelFile,
  type: ConvertType,
): Promise<{ model: ModelFile; bytes: Uint8Array }> {
  const bytes = await convertToGgufBytes(model, type);
  return { model: await openModel(bytesSource(bytes, `converted-${type}.gguf`)), bytes };
}
