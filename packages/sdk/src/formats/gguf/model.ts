import type { ModelFile, TensorInfo } from '../../model/model-file.js';
import type { ByteSource } from '../byte-source.js';
import { ggufModelConfig } from './config.js';
import { GgufMetadata } from './metadata.js';
import { type ReadGgufOptions, readGgufHeader } from './reader.js';
import { ggufTokenizer } from './tokenizer.js';
import { plainValue } from './values.js';

/**
 * Opens a decoder GGUF file (llama, mistral, qwen2, qwen3, gemma3, phi3): reads its header, parses the config
 * and tokenizer, and locates its tensors; `readTensor` then reads one tensor's bytes.
 *
 * @example
 * ```ts
 * const model = await openGguf(await urlSource('https://example.com/model.gguf'));
 * const embd = await model.readTensor(model.tensors[0]);
 * ```
 */
export async function openGguf(source: ByteSource, options: ReadGgufOptions = {}): Promise<ModelFile> {
  const header = await readGgufHeader(source, options);
  const md = new GgufMetadata(header.metadata);
  const tokenizer = ggufTokenizer(md);
  const { config, tensors } = ggufModelConfig(md, header.tensors, tokenizer.tokens.length);
  const chatTemplate = md.optionalString('tokenizer.chat_template');
  return {
    format: 'gguf',
    config,
    tokenizer,
    metadata: Object.fromEntries([...header.metadata].map(([k, v]) => [k, plainValue(v)])),
    tensors,
    chatTemplate,
    readTensor(info: TensorInfo, signal?: AbortSignal) {
      return source.read(info.offset, info.byteLength, signal);
    },
  };
}
