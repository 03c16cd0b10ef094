import { EdgeLMError } from '../errors.js';
import type { ModelFile } from '../model/model-file.js';
import type { ByteSource } from './byte-source.js';
import { openGguf } from './gguf/model.js';
import { looksLikeLlama2c, openLlama2c } from './llama2c/index.js';

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** Options of {@link openModel}. */
export interface OpenModelOptions {
  /** The tokenizer file that llama2.c checkpoints need; GGUF files carry their own. */
  tokenizer?: ByteSource;
}

/**
 * Opens a model file of any supported format, parsing its header and tokenizer and locating
 * its tensors without reading them.
 *
 * @example
 * ```ts
 * const model = await openModel(await urlSource(url), { tokenizer: await urlSource(tokUrl) });
 * console.log(model.config.nLayers, model.tensors.length);
 * ```
 */
export async function openModel(source: ByteSource, options: OpenModelOptions = {}): Promise<ModelFile> {
  const first = await source.read(0, Math.min(4, source.size));
  if (first.byteLength < 4)
    throw new EdgeLMError('TRUNCATED', `${source.name} is shorter than any model header`);
  const magic = new DataView(first.buffer, first.byteOffset, 4).getUint32(0, true);
  if (magic === GGUF_MAGIC) return openGguf(source);
  if (looksLikeLlama2c(first)) {
    if (!options.tokenizer) {
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        `${source.name} is a llama2.c checkpoint and needs a tokenizer file`,
      );
    }
    return openLlama2c(source, options.tokenizer);
  }
  throw new EdgeLMError('BAD_MAGIC', `${source.name} is neither GGUF nor a llama2.c checkpoint`, { magic });
}
