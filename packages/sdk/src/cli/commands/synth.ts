import { writeFile } from 'node:fs/promises';
import { EdgeLMError } from '../../errors.js';
import { ARCH_SAMPLES, type ArchSampleName, archSampleGguf } from '../../synth/arch-gguf.js';
import { SHAPES, type ShapeName } from '../../synth/shapes.js';
import { syntheticModel } from '../../synth/synthetic-model.js';
import { formatBytes } from '../progress.js';
import { parseConvertType, writeGgufFile } from './convert.js';

/**
 * `edgelm synth --shape S -o OUT.gguf --type T --seed N`: random weights in a real architecture;
 * `--arch A` instead writes that architecture's tiny sample (f32, llama.cpp's converter layout).
 */
export async function synth(
  opts: { shape?: string; arch?: string; out: string; type: string; seed: number },
  log: (s: string) => void,
): Promise<void> {
  if (opts.arch !== undefined) {
    if (!Object.hasOwn(ARCH_SAMPLES, opts.arch)) {
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        `--arch must be one of ${Object.keys(ARCH_SAMPLES).join(', ')}`,
        {
          arch: opts.arch,
        },
      );
    }
    const bytes = await archSampleGguf(opts.arch as ArchSampleName, { seed: opts.seed });
    await writeFile(opts.out, bytes);
    log(`wrote ${opts.out} (${formatBytes(bytes.byteLength)})`);
    return;
  }
  if (opts.shape === undefined) throw new EdgeLMError('INVALID_ARGUMENT', 'synth needs --shape or --arch');
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
