// The whole CPU backend (wasm kernels, weights in their file's types) against the reference forward
// pass on stories260K (float32, and its Q8_0/Q4_0 conversions).

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { checkMatrix } from '../src/backends/cpu/matrix.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGguf } from '../src/formats/convert.js';
import { GGMLType } from '../src/formats/ggml-types.js';
import { openModel } from '../src/formats/open-model.js';
import type { ModelFile, TensorInfo } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { resolveSampling } from '../src/sampler/params.js';
import { argmax, Sampler } from '../src/sampler/sample.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { openStories260K, REFERENCE_OPENING } from './helpers/models.js';

async function toGguf(model: ModelFile, type: 'q8_0' | 'q4_0'): Promise<ModelFile> {
  const parts: Uint8Array[] = [];
  await convertToGguf(model, type, { write: async (b) => void parts.push(b.slice()) });
  const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return openModel(bytesSource(all, `stories260K-${type}.gguf`));
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Pages in reverse order, so a backend that ignored the page table would read the wrong rows. */
const reversedPages = (n: number, pool: number) => Int32Array.from({ length: n }, (_, i) => pool - 1 - i);

let model: ModelFile;
let prompt: number[];
beforeAll(async () => {
  model = await openStories260K();
  prompt = new Tokenizer(model.tokenizer).encode('Once upon a time');
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(['wasm'] as const)('CPU backend, %s kernels, stories260K float32', (kernels) => {
  it('decodes 200 greedy tokens identical to the reference, logits within 1e-3 at every step', async () => {
    const ref = await ReferenceModel.load(model);
    const backend = await createCpuBackend(model, { kernels, pageSize: 16, pageCount: 40, kvCache: 'f32' });
    expect(backend.kernels).toBe(kernels);
    const pages = reversedPages(Math.ceil((prompt.length + 200) / 16), 40);
    let refLogits: Float32Array = new Float32Array(0);
    prompt.forEach((t, i) => {
      refLogits = ref.forward(t, i);
    });
    let [logits] = await backend.forward([{ tokens: prompt, startPos: 0, pages }]);
    const tokens: number[] = [];
    let worst = 0;
    for (let pos = prompt.length; tokens.length < 200; pos++) {
      worst = Math.max(worst, maxAbsDiff(logits!, refLogits));
      const want = argmax(refLogits);
      expect(argmax(logits!)).toBe(want);
      tokens.push(want);
      refLogits = ref.forward(want, pos);
      [logits] = await backend.forward([{ tokens: [want], startPos: pos, pages }]);
    }
    expect(worst).toBeLessThan(1e-3);
    const text = new Tokenizer(model.tokenizer).decode(tokens);
    expect(`Once upon a time${text}`.startsWith(REFERENCE_OPENING)).toBe(true);
  });

  it('gives the same logits for a prompt in one step, token by token, and beside another sequence', async () => {
    const backend = await createCpuBackend(model, { kernels, pageSize: 4, pageCount: 32, kvCache: 'f32' });
    const a = prompt.concat([5, 17, 99, 260, 311]);
    const b = [1, 400, 23];
    const pa = Int32Array.of(9, 2, 30, 4);
    const pb = Int32Array.of(11);
    const [whole] = await backend.forward([{ tokens: a, startPos: 0, pages: pa }]);
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < a.length; i++)
      [last] = (await backend.forward([{ tokens: [a[i]!], startPos: i, pages: pa }])) as [Float32Array];
    expect(maxAbsDiff(whole!, last)).toBe(0);
    const [alone] = await backend.forward([{ tokens: b, startPos: 0, pages: pb }]);
    const [withA, withB] = await backend.forward([
      { tokens: a, startPos: 0, pages: pa },
      { tokens: b, startPos: 0, pages: pb },
    ]);
    expect(maxAbsDiff(withA!, whole!)).toBe(0);
    expect(maxAbsDiff(withB!, alone!)).toBe(0);
  });

  it('refuses pages outside the pool, positions past the context, unknown tokens, and use after dispose', async () => {
    const backend: Backend = await createCpuBackend(model, { kernels, pageSize: 16, pageCount: 4 });
    const step = (tokens: number[], startPos: number, pages: Int32Array) =>
      backend.forward([{ tokens, startPos, pages }]);
    await expect(step([1], 0, Int32Array.of(4))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(step([1], 0, Int32Array.of(-1))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(step([1, 2], 15, Int32Array.of(0))).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
    await expect(step([1], model.config.contextLength, new Int32Array(64))).rejects.toMatchObject({
      code: 'CONTEXT_OVERFLOW',
    });
    await expect(step([model.config.vocabSize], 0, Int32Array.of(0))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    backend.dispose();
    await expect(step([1], 0, Int32Array.of(0))).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});

describe.each(['q8_0', 'q4_0'] as const)('CPU backend on the %s conversion', (type) => {
  it.each(['wasm'] as const)(
    '%s kernels agree with the reference on top-1 at ≥ 98% of 200 positions',
    async (kernels) => {
      const quant = await toGguf(model, type);
      const ref = await ReferenceModel.load(quant);
      const backend = await createCpuBackend(quant, { kernels, pageSize: 16, pageCount: 16, kvCache: 'f32' });
      const pages = reversedPages(16, 16);
      // a fixed stream (the float model's greedy text), so one disagreement does not derail the rest
      const stream = prompt.slice();
      const f32ref = await ReferenceModel.load(model);
      let l: Float32Array = new Float32Array(0);
      for (let i = 0; i < 200; i++) {
        l = f32ref.forward(stream[i]!, i);
        if (i + 1 >= stream.length) stream.push(argmax(l));
      }
      let agree = 0;
      let worst = 0;
      for (let pos = 0; pos < 200; pos++) {
        const want = ref.forward(stream[pos]!, pos);
        const [got] = await backend.forward([{ tokens: [stream[pos]!], startPos: pos, pages }]);
        if (argmax(got!) === argmax(want)) agree++;
        worst = Math.max(worst, maxAbsDiff(got!, want));
      }
      expect(agree / 200).toBeGreaterThanOrEqual(0.98);
      // the only departure from the reference is the activations, quantized to int8 per 32 as
      // llama.cpp's Q8_0 (measured ≤ 0.34 on logits of this tiny model; dim 64)
      expect(worst).toBeLessThan(0.5);
    },
  );
});

describe('forwardSample of the wasm backend', () => {
  it("chooses what Sampler chooses on forward's logits, greedy and sampled, over 40 steps of 2 sequences", async () => {
    const viaLogits = await createCpuBackend(model, {
      kernels: 'wasm',
      pageSize: 8,
      pageCount: 24,
      kvCache: 'f32',
    });
    const direct: Backend = await createCpuBackend(model, {
      kernels: 'wasm',
      pageSize: 8,
      pageCount: 24,
      kvCache: 'f32',
    });
    expect(direct.forwardSample).toBeDefined();
    const params = [
      resolveSampling({ temperature: 0 }),
      resolveSampling({ temperature: 0.9, topK: 40, topP: 0.9, minP: 0.02, repetitionPenalty: 1.3, seed: 7 }),
    ];
    const pages = [Int32Array.of(0, 2, 4, 6, 8, 10, 12, 14), Int32Array.of(1, 3, 5, 7, 9, 11, 13, 15)];
    const seqs = [prompt.slice(), [1, 200, 31]];
    const sampler = new Sampler();
    let fed = [0, 0];
    for (let step = 0; step < 40; step++) {
      const steps = seqs.map((t, i) => ({ tokens: t.slice(fed[i]), startPos: fed[i]!, pages: pages[i]! }));
      const requests = seqs.map((t, i) => ({ params: params[i]!, counter: t.length, recent: t.slice() }));
      const logits = await viaLogits.forward(steps);
      const want = logits.map((l, i) => sampler.sample(l, params[i]!, seqs[i]!.length, seqs[i]!));
      const got = await direct.forwardSample!(steps, requests);
      expect([...got]).toEqual(want);
      fed = seqs.map((t) => t.length);
      for (const [i, t] of seqs.entries()) t.push(got[i]!);
    }
  });
});

describe("createCpuBackend's choice", () => {
  it("'auto' runs the wasm kernels; an engine without SIMD gets NO_BACKEND", async () => {
    expect((await createCpuBackend(model, { pageCount: 2 })).kernels).toBe('wasm');
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false); // an engine without SIMD
    await expect(createCpuBackend(model, { pageCount: 2 })).rejects.toMatchObject({ code: 'NO_BACKEND' });
  });
});

describe('what the CPU kernels refuse', () => {
  const info = (type: number, shape: number[]) =>
    ({
      name: 'blk.0.attn_q.weight',
      type,
      shape,
      offset: 0,
      byteLength: 0,
    }) as unknown as TensorInfo; // a type the reader may refuse, as a backend could still meet it
  it('a type without a kernel, by name and tensor (UNSUPPORTED_TYPE)', () => {
    expect(() => checkMatrix(info(GGMLType.IQ2_XXS, [256, 4]), 4, 256)).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_TYPE',
        message: expect.stringMatching(/IQ2_XXS.*blk\.0\.attn_q\.weight/),
      }),
    );
  });
  it('rows that are not whole blocks, and a shape that is not the one expected (CORRUPT)', () => {
    expect(() => checkMatrix(info(GGMLType.Q4_K, [288, 4]), 4, 288)).toThrow(
      expect.objectContaining({ code: 'CORRUPT' }),
    );
    expect(() => checkMatrix(info(GGMLType.Q8_0, [64, 4]), 4, 32)).toThrow(
      expect.objectContaining({ code: 'CORRUPT' }),
    );
    expect(checkMatrix(info(GGMLType.Q6_K, [256, 3]), 3, 256)).toBe('Q6_K');
    expect(checkMatrix(info(GGMLType.F16, [37, 3]), 3, 37)).toBe('F16');
  });
});
