import { EdgeLMError } from '../../errors.js';
import type { ModelFile, TensorInfo } from '../../model/model-file.js';
import type { ByteSource } from '../byte-source.js';
import { isSupportedType, SUPPORTED_TYPES, typeName } from '../ggml-types.js';
import { ggufModelConfig } from './config.js';
import { GgufMetadata } from './metadata.js';
import { type GgufTensorInfo, type ReadGgufOptions, readGgufHeader } from './reader.js';
import { ggufTokenizer } from './tokenizer.js';
import { plainValue } from './values.js';

/**
 * The tensors of a file edgelm can run; the first of a type it cannot (IQ2_XXS, TQ1_0, MXFP4, …)
 * is refused with UNSUPPORTED_TYPE naming the type and the tensor.
 */
export function runnableTensors(tensors: GgufTensorInfo[]): TensorInfo[] {
  for (const t of tensors) {
    if (!isSupportedType(t.type)) {
      const supported = SUPPORTED_TYPES.map(typeName).join(', ');
      throw new EdgeLMError(
        'UNSUPPORTED_TYPE',
        `Tensor "${t.name}" has type ${typeName(t.type)}, which edgelm cannot run (it runs ${supported})`,
        { tensor: t.name, type: typeName(t.type) },
      );
    }
  }
  return tensors as TensorInfo[];
}

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
  const tensors = runnableTensors(header.tensors);
  const md = new GgufMetadata(header.metadata);
  const tokenizer = ggufTokenizer(md);
  const { config, tensors: modelTensors } = ggufModelConfig(md, tensors, tokenizer.tokens.length);
  const chatTemplate = md.optionalString('tokenizer.chat_template');
  return {
    format: 'gguf',
    config,
    tokenizer,
    metadata: Object.fromEntries([...header.metadata].map(([k, v]) => [k, plainValue(v)])),
    tensors: modelTensors,
    chatTemplate,
    readTensor(info: TensorInfo, signal?: AbortSignal) {
      return source.read(info.offset, info.byteLength, signal);
    },
  };
}
