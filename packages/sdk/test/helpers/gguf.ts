import { bytesSource } from '../../src/formats/byte-source.js';
import { type ConvertType, convertToGguf } from '../../src/formats/convert.js';
import { openModel } from '../../src/formats/open-model.js';
import type { ModelFile } from '../../src/model/model-file.js';

/** Converts a model to GGUF in memory and opens the result, as `edgelm convert` would write it. */
export async function convertInMemory(
  model: ModelFile,
  type: ConvertType,
): Promise<{ model: ModelFile; bytes: Uint8Array }> {
  const parts: Uint8Array[] = [];
  await convertToGguf(model, type, {
    write: async (b) => {
      parts.push(b.slice());
    },
  });
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { model: await openModel(bytesSource(bytes, `converted-${type}.gguf`)), bytes };
}
