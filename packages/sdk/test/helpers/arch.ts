import { bytesSource } from '../../src/formats/byte-source.js';
import { openModel } from '../../src/formats/open-model.js';
import type { ModelFile } from '../../src/model/model-file.js';
import { ReferenceModel } from '../../src/reference/forward.js';
import { type ArchSampleName, archSampleGguf } from '../../src/synth/arch-gguf.js';

export const ARCH_PROMPT = [1, 3, 4, 5, 6, 7, 8, 9, 12, 30, 41, 50, 7];
export const ARCH_DECODE = 6;

/** The samples, plus gemma3 with Gemma 2's soft-caps switched on (no sample file carries them). */
export type ArchCase = ArchSampleName | 'gemma3+softcaps';

export async function archSample(name: ArchCase): Promise<ModelFile> {
  if (name === 'gemma3+softcaps') {
    const m = await archSample('gemma3');
    const features = { ...m.config.features, attnSoftcap: 0.5, finalSoftcap: 1.5 };
    return { ...m, config: { ...m.config, features } };
  }
  return openModel(bytesSource(await archSampleGguf(name), `${name}.gguf`));
}

export const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
};

/** Reference logits after the prompt, then after each greedy continuation token. */
export async function archReferenceRun(
  model: ModelFile,
): Promise<{ logits: Float32Array[]; tokens: number[] }> {
  const ref = await ReferenceModel.load(model, 64);
  const logits: Float32Array[] = [];
  const tokens = [...ARCH_PROMPT];
  for (let i = 0; i < ARCH_PROMPT.length + ARCH_DECODE; i++) {
    const out = ref.forward(tokens[i]!, i);
    if (i >= ARCH_PROMPT.length - 1) {
      logits.push(out.slice());
      let best = 0;
      for (let v = 1; v < out.length; v++) if (out[v]! > out[best]!) best = v;
      if (tokens.length < ARCH_PROMPT.length + ARCH_DECODE) tokens.push(best);
    }
  }
  return { logits, tokens };
}
