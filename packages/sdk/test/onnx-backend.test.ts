import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxBackend } from '../src/backends/onnx/onnx-backend.js';
import { exportOnnx } from '../src/formats/onnx/export.js';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { argmax } from '../src/sampler/sample.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { openStories260K, REFERENCE_OPENING } from './helpers/models.js';
import { roundTripModel } from './helpers/onnx-models.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Physical pages [first, first + count). */
const pageRun = (first: number, count: number) => Int32Array.from({ length: count }, (_, i) => first + i);

describe('ONNX backend (onnxruntime-web wasm) on stories260K', () => {
  let model: ModelFile;
  let tok: Tokenizer;
  let backend: OnnxBackend;

  beforeAll(async () => {
    model = await openStories260K();
    tok = new Tokenizer(model.tokenizer);
    const exported = await exportOnnx(model, { weights: 'f32' });
    backend = await OnnxBackend.create(
      { model: exported.model, config: model.config },
      { executionProviders: ['wasm'], pageSize: 16, pageCount: 64, maxLiveSequences: 1 },
    );
    expect(backend.executionProvider).toBe('wasm');
  });

  it('generates the reference text greedily, logits within 1e-3 at every step', async () => {
    const ref = await ReferenceModel.load(model);
    const prompt = tok.encode('Once upon a time');
    const pages = pageRun(0, 8);
    let refLogits: Float32Array = new Float32Array(0);
    for (let p = 0; p < prompt.length; p++) refLogits = ref.forward(prompt[p], p);
    let [logits] = await backend.forward([{ tokens: prompt, startPos: 0, pages }]);
    const decoder = tok.decoder();
    let text = '';
    let worst = maxAbsDiff(logits, refLogits);
    for (let pos = prompt.length; pos < 100; pos++) {
      const next = argmax(logits);
      expect(next).toBe(argmax(refLogits));
      if (next === tok.eos) break;
      text += decoder.push(next);
      refLogits = ref.forward(next, pos);
      [logits] = await backend.forward([{ tokens: [next], startPos: pos, pages }]);
      worst = Math.max(worst, maxAbsDiff(logits, refLogits));
    }
    expect(worst).toBeLessThan(1e-3);
    expect(`Once upon a time${text}`.startsWith(REFERENCE_OPENING.slice(0, 60))).toBe(true);
  });

  it('shares prefix pages between sequences, across write-backs of evicted sequences', async () => {
    // One resident sequence at a time, so every switch writes one back and resumes the other from pages.
    const prompt = tok.encode('Once upon a time');
    const refA = await ReferenceModel.load(model);
    const refB = await ReferenceModel.load(model);
    const pagesA = pageRun(20, 4);
    const pagesB = Int32Array.of(20, 30, 31, 32); // page 20 (positions 0–15) shared with A
    const a: number[] = [...prompt];
    // A runs to position 20, past its first page.
    let [la] = await backend.forward([{ tokens: prompt, startPos: 0, pages: pagesA }]);
    let ra: Float32Array = new Float32Array(0);
    for (let p = 0; p < prompt.length; p++) ra = refA.forward(prompt[p], p);
    while (a.length < 20) {
      const next = argmax(la);
      a.push(next);
      ra = refA.forward(next, a.length - 1);
      [la] = await backend.forward([{ tokens: [next], startPos: a.length - 1, pages: pagesA }]);
    }
    expect(maxAbsDiff(la, ra)).toBeLessThan(1e-3);
    // B forks A at position 16 with different tokens, then both decode, interleaved.
    const b = a.slice(0, 16);
    let rb: Float32Array = new Float32Array(0);
    for (let p = 0; p < 16; p++) rb = refB.forward(b[p], p);
    const fork = [tok.encode('the', { bos: false })[0] ?? 3, 300, 301];
    b.push(...fork);
    for (let i = 0; i < fork.length; i++) rb = refB.forward(fork[i], 16 + i);
    let [lb] = await backend.forward([{ tokens: fork, startPos: 16, pages: pagesB }]);
    expect(maxAbsDiff(lb, rb)).toBeLessThan(1e-3);
    for (let i = 0; i < 6; i++) {
      const na = argmax(la);
      const nb = argmax(lb);
      a.push(na);
      b.push(nb);
      ra = refA.forward(na, a.length - 1);
      rb = refB.forward(nb, b.length - 1);
      [la, lb] = await backend.forward([
        { tokens: [na], startPos: a.length - 1, pages: pagesA },
        { tokens: [nb], startPos: b.length - 1, pages: pagesB },
      ]);
      expect(maxAbsDiff(la, ra)).toBeLessThan(1e-3);
      expect(maxAbsDiff(lb, rb)).toBeLessThan(1e-3);
    }
  });

  it('rejects steps past the context or without pages', async () => {
    await expect(
      backend.forward([{ tokens: [1], startPos: 512, pages: pageRun(0, 33) }]),
    ).rejects.toMatchObject({
      code: 'CONTEXT_OVERFLOW',
    });
    await expect(
      backend.forward([{ tokens: [1, 2], startPos: 15, pages: pageRun(0, 1) }]),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  for (const [weights, bits] of [
    ['int8', 8],
    ['int4', 4],
  ] as const) {
    it(`${weights} MatMulNBits export matches the reference on the same rounded weights`, async () => {
      const exported = await exportOnnx(model, { weights });
      const q = await OnnxBackend.create(
        { model: exported.model, config: model.config },
        { executionProviders: ['wasm'], pageSize: 16, pageCount: 8 },
      );
      const ref = await ReferenceModel.load(await roundTripModel(model, bits));
      const tokens = tok.encode('Once upon a time');
      let [logits] = await q.forward([{ tokens, startPos: 0, pages: pageRun(0, 4) }]);
      let r: Float32Array = new Float32Array(0);
      for (let p = 0; p < tokens.length; p++) r = ref.forward(tokens[p], p);
      let worst = maxAbsDiff(logits, r);
      for (let pos = tokens.length; pos < 30; pos++) {
        const next = argmax(r);
        r = ref.forward(next, pos);
        [logits] = await q.forward([{ tokens: [next], startPos: pos, pages: pageRun(0, 4) }]);
        worst = Math.max(worst, maxAbsDiff(logits, r));
      }
      q.dispose();
      expect(worst).toBeLessThan(1e-3);
    });
  }
});
