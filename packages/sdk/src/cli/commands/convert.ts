import { EdgeLMError } from '../../errors.js';
import { type ConvertType, convertToGguf } from '../../formats/convert.js';
import { FILE_TYPES, isFileType } from '../../formats/type-mix.js';
import type { ModelFile } from '../../model/model-file.js';
import { fileSink } from '../../node/file-source.js';
import { formatBytes, ProgressBar } from '../progress.js';
import { openModelArg } from './open.js';

/** `--type` as llama-quantize spells it, in either case (`Q4_K_M` or `q4_k_m`). */
export function parseConvertType(t: string): ConvertType {
  const type = t.toLowerCase();
  if (!isFileType(type)) {
    throw new EdgeLMError('UNSUPPORTED_TYPE', `--type must be one of ${FILE_TYPES.join(', ')}`, { type: t });
  }
  return type;
}

/** Writes `model` as GGUF to `out`, with a progress bar over tensors' bytes. */
export async function writeGgufFile(
  model: ModelFile,
  type: ConvertType,
  out: string,
  label: string,
): Promise<number> {
  const total = model.tensors.reduce((a, t) => a + t.byteLength, 0);
  const bar = new ProgressBar(label, total);
  let seen = 0;
  const tracked: ModelFile = {
    ...model,
    readTensor: async (info, signal) => {
      const b = await model.readTensor(info, signal);
      seen += info.byteLength;
      bar.update(seen);
      return b;
    },
  };
  const sink = await fileSink(out);
  try {
    const bytes = await convertToGguf(tracked, type, sink);
    bar.done();
    return bytes;
  } finally {
    await sink.close();
  }
}

/** `edgelm convert IN -o OUT.gguf --type T`: llama2.c or GGUF in, GGUF out. */
export async function convert(
  input: string,
  opts: { tokenizer?: string; out: string; type: string },
  log: (s: string) => void,
): Promise<void> {
  const type = parseConvertType(opts.type);
  const { model } = await openModelArg(input, opts.tokenizer);
  const bytes = await writeGgufFile(model, type, opts.out, `convert → ${type}`);
  log(`wrote ${opts.out} (${formatBytes(bytes)})`);
}
