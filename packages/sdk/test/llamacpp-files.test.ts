/**
 * llama.cpp's own quantizations of a trained model (see $EDGELM_MODELS_DIR/llamacpp/README.md):
 * the CPU reference, dequantizing each file's mix of types, must pick llama.cpp's greedy token
 * at ≥ 95 % of the 64 teacher-forced positions of expected.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { typeName } from '../src/formats/ggml-types.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { modelsDir } from './helpers/models.js';

interface Expected {
  promptTokens: number[];
  tokens: number[];
}

const dir = join(modelsDir(), 'llamacpp');
const expected: Record<string, Expected> = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
const files = readdirSync(dir).filter((f) => /^wide-.*\.gguf$/.test(f));

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Teacher forcing: at each t, prompt + tokens[0..t) must give tokens[t] greedily. Returns the
 * fraction that do and, for those that do not, how far llama.cpp's token's logit is below ours.
 */
function teacherForced(ref: ReferenceModel, e: Expected): { agreement: number; missGaps: number[] } {
  const seq = [...e.promptTokens, ...e.tokens];
  let agree = 0;
  const missGaps: number[] = [];
  for (let p = 0; p < seq.length - 1; p++) {
    const logits = ref.forward(seq[p], p);
    const t = p + 1 - e.promptTokens.length;
    if (t < 0) continue;
    const best = argmax(logits);
    if (best === e.tokens[t]) agree++;
    else missGaps.push(logits[best] - logits[e.tokens[t]]);
  }
  return { agreement: agree / e.tokens.length, missGaps };
}

/**
 * llama.cpp quantizes activations to Q8_K for its K-quant dot products and runs attention over
 * an f16 cache; with Q2_K weights that moves logits by ~0.1, so at near-ties its greedy token
 * differs from the exact reference's. The reference stays exact (it is the judge): Q2_K is held
 * to 90 % here, every file to misses that are near-ties. The CPU backend, which emulates those
 * roundings, is held to 95 % on every file (cpu-llamacpp.test.ts).
 */
const MIN_AGREEMENT: Record<string, number> = { 'wide-Q2_K.gguf': 0.9 };
const NEAR_TIE = 0.25;

describe('llama.cpp quantizations, CPU reference', () => {
  it('has all 17 files', () => {
    expect(files.length).toBe(17);
  });

  it.each(files)('%s agrees with llama.cpp at ≥ 95 % of positions', async (file) => {
    const model = await openGguf(bytesSource(new Uint8Array(readFileSync(join(dir, file))), file));
    const e = expected[file];
    const ref = await ReferenceModel.load(model, e.promptTokens.length + e.tokens.length);
    const { agreement, missGaps } = teacherForced(ref, e);
    const mix = [...new Set(model.tensors.map((t) => typeName(t.type)))].join('/');
    const gaps = missGaps.map((g) => g.toFixed(3)).join(' ');
    console.log(`${file.padEnd(20)} ${mix.padEnd(22)} ${(agreement * 100).toFixed(1)} % misses by ${gaps}`);
    expect(agreement).toBeGreaterThanOrEqual(MIN_AGREEMENT[file] ?? 0.95);
    for (const g of missGaps) expect(g).toBeLessThan(NEAR_TIE);
  });
});
