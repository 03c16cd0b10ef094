import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { bytesSource } from '../byte-source.js';
import { openModel } from '../open-model.js';
import { type ExportOnnxOptions, exportOnnx } from './export.js';
import { OnnxFiles } from './onnx-config.js';

/** Options of {@link exportOnnxToDir}. */
export interface ExportOnnxToDirOptions extends ExportOnnxOptions {
  /** The tokenizer file a llama2.c checkpoint needs (`tok512.bin`, `tokenizer.bin`). */
  tokenizer?: string;
}

/** The files {@link exportOnnxToDir} wrote. */
export interface ExportOnnxToDirResult {
  model: string;
  config: string;
  tokenizer: string;
  bytes: number;
}

/**
 * Node-only: exports a GGUF file or llama2.c checkpoint into `outDir` as `model.onnx`,
 * `config.json` and `tokenizer-data.json` — what `edgelm export-onnx IN -o DIR` does.
 *
 * @example
 * ```ts
 * await exportOnnxToDir('stories260K.bin', 'out/', { weights: 'f32', tokenizer: 'tok512.bin' });
 * ```
 */
export async function exportOnnxToDir(
  inputPath: string,
  outDir: string,
  options: ExportOnnxToDirOptions,
): Promise<ExportOnnxToDirResult> {
  const source = bytesSource(await readFile(inputPath), basename(inputPath));
  const tokenizer = options.tokenizer
    ? bytesSource(await readFile(options.tokenizer), basename(options.tokenizer))
    : undefined;
  const model = await openModel(source, { tokenizer });
  const out = await exportOnnx(model, options);
  await mkdir(outDir, { recursive: true });
  const files = {
    model: join(outDir, OnnxFiles.model),
    config: join(outDir, OnnxFiles.config),
    tokenizer: join(outDir, OnnxFiles.tokenizer),
  };
  await writeFile(files.model, out.model);
  await writeFile(files.config, `${JSON.stringify(out.config, null, 2)}\n`);
  await writeFile(files.tokenizer, JSON.stringify(out.tokenizer));
  return { ...files, bytes: out.model.byteLength };
}
