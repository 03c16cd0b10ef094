import { typeName } from '../../formats/ggml-types.js';
import { featureNames } from '../../model/features.js';
import { formatBytes } from '../progress.js';
import { openModelArg } from './open.js';

/** `edgelm inspect FILE`: metadata, configuration, tensors and bytes per type. */
export async function inspect(
  file: string,
  tokenizer: string | undefined,
  out: (s: string) => void,
): Promise<void> {
  const { model, bytes } = await openModelArg(file, tokenizer);
  out(`file      ${file} (${model.format}, ${formatBytes(bytes)})`);
  out(`arch      ${model.config.arch}: ${featureNames(model.config).join(', ')}`);
  out(`config    ${JSON.stringify(model.config)}`);
  out(
    `tokenizer ${model.tokenizer.model}, ${model.tokenizer.tokens.length} tokens, bos ${model.tokenizer.bos}, eos ${model.tokenizer.eos}`,
  );
  for (const [k, v] of Object.entries(model.metadata)) {
    if (k.startsWith('tokenizer.ggml.')) continue;
    const s = Array.isArray(v) ? `[${v.length} values]` : String(v);
    out(`meta      ${k} = ${s.length > 80 ? `${s.slice(0, 77)}...` : s}`);
  }
  const perType = new Map<string, { count: number; bytes: number }>();
  for (const t of model.tensors) {
    out(`tensor    ${t.name.padEnd(28)} ${typeName(t.type).padEnd(5)} [${t.shape.join(', ')}] @${t.offset}`);
    const e = perType.get(typeName(t.type)) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += t.byteLength;
    perType.set(typeName(t.type), e);
  }
  for (const [type, e] of perType)
    out(`bytes     ${type.padEnd(5)} ${String(e.count).padStart(4)} tensors ${formatBytes(e.bytes)}`);
}
