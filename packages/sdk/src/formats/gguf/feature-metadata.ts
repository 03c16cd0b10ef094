import type { ModelConfig } from '../../model/config.js';
import type { MetadataValue } from '../../model/model-file.js';
import { type GgufValue, gguf } from './values.js';

/**
 * The `{arch}.*` keys that carry a model's architecture features (the inverse of
 * architectures.ts), so a converted file reads back with the same description. Tensors such as
 * rope_freqs or q/k norms travel with the tensors; these are the features held in metadata.
 */
export function featureMetadata(
  c: ModelConfig,
  source: Record<string, MetadataValue>,
): [string, GgufValue][] {
  const a = c.arch;
  const f = c.features;
  const md: [string, GgufValue][] = [];
  if (f.rope.freqScale !== 1) {
    md.push(
      [`${a}.rope.scaling.type`, gguf.string('linear')],
      [`${a}.rope.scaling.factor`, gguf.f32(1 / f.rope.freqScale)],
    );
  }
  if (f.rope.attnFactor !== 1) md.push([`${a}.rope.scaling.attn_factor`, gguf.f32(f.rope.attnFactor)]);
  // Phi-3 picks its short or long factors against this; keep the source's value.
  const orig = source[`${a}.rope.scaling.original_context_length`];
  if (typeof orig === 'number') md.push([`${a}.rope.scaling.original_context_length`, gguf.u32(orig)]);
  if (f.swa) md.push([`${a}.attention.sliding_window`, gguf.u32(f.swa.window)]);
  if (f.attnSoftcap) md.push([`${a}.attn_logit_softcapping`, gguf.f32(f.attnSoftcap)]);
  if (f.finalSoftcap) md.push([`${a}.final_logit_softcapping`, gguf.f32(f.finalSoftcap)]);
  return md;
}
