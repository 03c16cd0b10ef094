import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { argmax } from '../src/sampler/sample.js';
import { convertInMemory } from './helpers/gguf.js';
import { openStories260K } from './helpers/models.js';

const POSITIONS = 256;

function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

/** Greedy run of the F32 model: its tokens and per-position logits. */
async function greedyRun(model: ModelFile): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const ref = await ReferenceModel.load(model);
  const tokens = [1];
  const logits: Float32Array[] = [];
  for (let pos = 0; pos < POSITIONS; pos++) {
    const l = ref.forward(tokens[pos]!, pos).slice();
    logits.push(l);
    tokens.push(argmax(l));
  }
  return { tokens, logits };
}

describe('conversions of stories260K', () => {
  let f32: ModelFile;
  let base: { tokens: number[]; logits: Float32Array[] };
  beforeAll(async () => {
    f32 = await openStories260K();
    base = await greedyRun(f32);
  });

  it('GGUF F32 reloads with bitwise-identical logits', async () => {
    const { model } = await convertInMemory(f32, 'f32');
    expect(model.format).toBe('gguf');
    expect(model.config).toEqual(f32.config);
    expect(model.tokenizer.tokens).toEqual(f32.tokenizer.tokens);
    const ref = await ReferenceModel.load(model);
    for (let pos = 0; pos < POSITIONS; pos++) {
      const l = ref.forward(base.tokens[pos]!, pos);
      expect(
        Buffer.from(l.buffer, l.byteOffset, l.byteLength).equals(Buffer.from(base.logits[pos]!.buffer)),
      ).toBe(true);
    }
  });

  it.each([
    ['q8_0', 0.98],
    ['q4_0', 0.7],
  ] as const)(
    '%s agrees with F32 on the greedy path (top-1 ≥ %s), KL printed',
    async (type, minAgreement) => {
      const { model, bytes } = await convertInMemory(f32, type);
      const ref = await ReferenceModel.load(model);
      let agree = 0;
      let kl = 0;
      for (let pos = 0; pos < POSITIONS; pos++) {
        const q = ref.forward(base.tokens[pos]!, pos);
        const p = base.logits[pos]!;
        if (argmax(q) === argmax(p)) agree++;
        const lp = logSoftmax(p);
        const lq = logSoftmax(q);
        for (let i = 0; i < lp.length; i++) kl += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
      }
      const agreement = agree / POSITIONS;
      console.log(
        `${type}: ${bytes.byteLength} bytes, top-1 agreement ${(agreement * 100).toFixed(1)}% over ${POSITIONS} positions, mean KL ${(kl / POSITIONS).toExponential(3)} nats`,
      );
      expect(agreement).toBeGreaterThanOrEqual(minAgreement);
    },
  );
});
