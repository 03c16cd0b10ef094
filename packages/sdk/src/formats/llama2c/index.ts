import { EdgeLMError } from '../../errors.js';
import type { ModelFile } from '../../model/model-file.js';
import type { ByteSource } from '../byte-source.js';
import { llama2cConfig, llama2cTensors, readLlama2cHeader } from './checkpoint.js';
import { readLlama2cTokenizer } from './tokenizer-bin.js';

/**
 * Opens a llama2.c checkpoint (legacy or 'ak42' v1 fp32) with its separate tokenizer file.
 *
 * @example
 * ```ts
 * const model = await openLlama2c(blobSource(ckpt), blobSource(tok));
 * ```
 */
export async function openLlama2c(src: ByteSource, tokenizer: ByteSource): Promise<ModelFile> {
  const header = await readLlama2cHeader(src);
  const tensors = llama2cTensors(header, src.size, src.name);
  const tok = await readLlama2cTokenizer(tokenizer, header.vocabSize);
  return {
    format: 'llama2c',
    config: llama2cConfig(header),
    tokenizer: tok,
    metadata: { 'general.architecture': 'llama', 'general.name': src.name.split('/').pop() ?? 'llama2c' },
    tensors,
    readTensor: (info, signal) => src.read(info.offset, info.byteLength, signal),
  };
}

/** True when the first bytes look like a llama2.c checkpoint rather than GGUF. */
export function looksLikeLlama2c(first4: Uint8Array): boolean {
  if (first4.byteLength < 4) throw new EdgeLMError('TRUNCATED', 'File is shorter than 4 bytes');
  const v = new DataView(first4.buffer, first4.byteOffset, 4).getInt32(0, true);
  return v === 0x616b3432 || (v > 0 && v <= 1 << 16);
}
