import { openModel } from '../../formats/open-model.js';
import type { ModelFile } from '../../model/model-file.js';
import { fileSource } from '../../node/file-source.js';
import { resolveModelPath, siblingTokenizer } from '../resolve-model.js';

/** Opens a model argument (path or URL) with its tokenizer (flag, or a sibling file for llama2.c). */
export async function openModelArg(
  arg: string,
  tokenizerArg?: string,
): Promise<{ model: ModelFile; path: string; bytes: number }> {
  const path = await resolveModelPath(arg);
  const src = await fileSource(path);
  const tokPath = tokenizerArg ? await resolveModelPath(tokenizerArg) : await siblingTokenizer(path);
  const model = await openModel(src, { tokenizer: tokPath ? await fileSource(tokPath) : undefined });
  return { model, path, bytes: src.size };
}
