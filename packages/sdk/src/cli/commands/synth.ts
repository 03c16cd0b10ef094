import { EdgeLMError } from '../../errors.js';
import { SHAPES, type ShapeName } from '../../synth/shapes.js';
import { syntheticModel } from '../../synth/synthetic-model.js';
import { formatBytes } from '../progress.js';
import { parseConvertType, writeGgufFile } from './convert.js';

/** `edgelm synth --shape S -o OUT.gguf --type T --seed N`: random weights in a real architecture. */
export async function synth(
  opts: { shape: string; out: string; type: string; seed: number },
  log: (s: string) => void,
): Promise<void> {
  if (!Object.hasOwn(SHAPES, opts.shape)) {
    throw new EdgeLMError('INVALID_ARGUMENT', `--shape must be one of ${Object.keys(SHAPES).join(', ')}`, {
      shape: opts.shape,
    });
  }
  const type = parseConvertType(opts.type);
  const model = syntheticModel(opts.shape as ShapeName, opts.seed);
  const bytes = await writeGgufFile(model, type, opts.out, `synth ${opts.shape} ${type}`);
  log(`wrote ${opts.out} (${formatBytes(bytes)})`);
}
