import type { ModelFile } from '../../src/model/model-file.js';
import { ReferenceModel } from '../../src/reference/forward.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';

/** What every row of the head-to-head must reproduce: the CPU reference's greedy continuation. */
export interface GreedyReference {
  prompt: string;
  promptTokens: number[];
  tokens: number[];
  text: string;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * Greedy decoding of `maxTokens` tokens after `prompt` (BOS added as the model's tokenizer says),
 * stopping at EOS as every peer does by default, on the plain float32 reference forward pass.
 */
export async function greedyReference(
  model: ModelFile,
  prompt: string,
  maxTokens: number,
): Promise<GreedyReference> {
  const tok = new Tokenizer(model.tokenizer);
  const promptTokens = tok.encode(prompt);
  const ref = await ReferenceModel.load(model, promptTokens.length + maxTokens);
  let logits: Float32Array = new Float32Array(0);
  for (let p = 0; p < promptTokens.length; p++) logits = ref.forward(promptTokens[p]!, p);
  const tokens: number[] = [];
  for (let i = 0; i < maxTokens; i++) {
    const next = argmax(logits);
    if (next === model.tokenizer.eos) break;
    tokens.push(next);
    if (i + 1 < maxTokens) logits = ref.forward(next, promptTokens.length + i);
  }
  return { prompt, promptTokens, tokens, text: tok.decode(tokens) };
}
