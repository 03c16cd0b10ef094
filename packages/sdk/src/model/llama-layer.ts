import type { ModelConfig } from './config.js';

/**
 * The features of `c` a plain llama/qwen2 layer cannot express (empty when it can): what
 * backends with a hand-fused layer (the ONNX graph, the fused WebGPU kernel) check before
 * taking a model, so they decline by name instead of running a different model.
 */
export function beyondLlamaLayer(c: ModelConfig, o: { ropeTable?: boolean } = {}): string[] {
  const f = c.features;
  const out: string[] = [];
  if (f.qkNorm) out.push('q/k norm');
  if (f.postNorms) out.push('post norms');
  if (f.activation !== 'swiglu') out.push(f.activation);
  if (f.embeddingScale !== 1) out.push('embedding scale');
  if (Math.abs(f.attnScale * Math.sqrt(c.headDim) - 1) > 1e-6) out.push('attention scale');
  if (f.attnSoftcap) out.push('attention soft-cap');
  if (f.finalSoftcap) out.push('logit soft-cap');
  if (f.swa) out.push('sliding window');
  // A backend that rotates by a precomputed cos/sin table (ropeTableOf) gets the frequency
  // factors, scaling and adjacent-pair partial rotary from the table itself.
  const tableable = o.ropeTable && !(f.rope.dims !== c.headDim && c.ropeStyle === 'neox');
  if (!tableable) {
    if (f.rope.dims !== c.headDim) out.push('partial rotary');
    if (f.rope.factors) out.push('rope frequency factors');
    if (f.rope.freqScale !== 1 || f.rope.attnFactor !== 1) out.push('rope scaling');
  }
  return out;
}
