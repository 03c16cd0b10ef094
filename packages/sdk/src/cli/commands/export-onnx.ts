import { EdgeLMError } from '../../errors.js';
import { exportOnnxToDir } from '../../formats/onnx/export-dir.js';
import { formatBytes } from '../progress.js';
import { resolveModelPath, siblingTokenizer } from '../resolve-model.js';

const WEIGHTS = ['f32', 'int8', 'int4'] as const;

/** `edgelm export-onnx IN -o DIR --weights f32|int8|int4`: an Optimum-layout ONNX decoder. */
export async function exportOnnxCommand(
  input: string,
  opts: { tokenizer?: string; out: string; weights: string },
  log: (s: string) => void,
): Promise<void> {
  if (!(WEIGHTS as readonly string[]).includes(opts.weights)) {
    throw new EdgeLMError('UNSUPPORTED_TYPE', `--weights must be one of ${WEIGHTS.join(', ')}`, {
      weights: opts.weights,
    });
  }
  const path = await resolveModelPath(input);
  const tokenizer = opts.tokenizer ? await resolveModelPath(opts.tokenizer) : await siblingTokenizer(path);
  const r = await exportOnnxToDir(path, opts.out, {
    weights: opts.weights as (typeof WEIGHTS)[number],
    tokenizer,
  });
  log(`wrote ${r.model} (${formatBytes(r.bytes)}), ${r.config}, ${r.tokenizer}`);
}
