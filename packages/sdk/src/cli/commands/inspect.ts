import { isEdgeLMError } from '../../errors.js';
import { typeName } from '../../formats/ggml-types.js';
import { type GgufTensorInfo, readGgufHeader } from '../../formats/gguf/reader.js';
import { plainValue } from '../../formats/gguf/values.js';
import { featureNames } from '../../model/features.js';
import type { MetadataValue } from '../../model/model-file.js';
import { fileSource } from '../../node/file-source.js';
import { formatBytes } from '../progress.js';
import { resolveModelPath } from '../resolve-model.js';
import { openModelArg } from './open.js';

type Out = (s: string) => void;

function printMetadata(metadata: Record<string, MetadataValue>, out: Out): void {
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith('tokenizer.ggml.')) continue;
    const s = Array.isArray(v) ? `[${v.length} values]` : String(v);
    out(`meta      ${k} = ${s.length > 80 ? `${s.slice(0, 77)}...` : s}`);
  }
}

function printTensors(tensors: readonly (Omit<GgufTensorInfo, 'type'> & { type: number })[], out: Out): void {
  const perType = new Map<string, { count: number; bytes: number }>();
  for (const t of tensors) {
    const type = typeName(t.type);
    out(`tensor    ${t.name.padEnd(28)} ${type.padEnd(6)} [${t.shape.join(', ')}] @${t.offset}`);
    const e = perType.get(type) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += t.byteLength;
    perType.set(type, e);
  }
  for (const [type, e] of perType)
    out(`bytes     ${type.padEnd(6)} ${String(e.count).padStart(4)} tensors ${formatBytes(e.bytes)}`);
}

/**
 * `edgelm inspect FILE`: metadata, configuration, tensors and bytes per type. A GGUF file that
 * edgelm cannot load (a type such as IQ2_XXS) is still shown from its header, with the reason.
 */
export async function inspect(file: string, tokenizer: string | undefined, out: Out): Promise<void> {
  let opened: Awaited<ReturnType<typeof openModelArg>>;
  try {
    opened = await openModelArg(file, tokenizer);
  } catch (e) {
    if (!isEdgeLMError(e) || e.code !== 'UNSUPPORTED_TYPE') throw e;
    const src = await fileSource(await resolveModelPath(file));
    try {
      // Only a GGUF header can list what a file it cannot load holds; anything else keeps its error.
      const header = await readGgufHeader(src).catch(() => {
        throw e;
      });
      out(`file      ${file} (gguf, ${formatBytes(src.size)})`);
      out(`load      fails: ${e.code}: ${e.message}`);
      printMetadata(Object.fromEntries([...header.metadata].map(([k, v]) => [k, plainValue(v)])), out);
      printTensors(header.tensors, out);
      return;
    } finally {
      await src.close();
    }
  }
  const { model, bytes } = opened;
  out(`file      ${file} (${model.format}, ${formatBytes(bytes)})`);
  out(`arch      ${model.config.arch}: ${featureNames(model.config).join(', ')}`);
  out(`config    ${JSON.stringify(model.config)}`);
  out(
    `tokenizer ${model.tokenizer.model}, ${model.tokenizer.tokens.length} tokens, bos ${model.tokenizer.bos}, eos ${model.tokenizer.eos}`,
  );
  printMetadata(model.metadata, out);
  printTensors(model.tensors, out);
}
