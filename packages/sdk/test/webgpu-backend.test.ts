import { beforeAll, describe, expect, it } from 'vitest';
import type { SequenceStep } from '../src/backends/backend.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/backends/webgpu/index.js';
import { isEdgeLMError } from '../src/errors.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { type ConvertType, convertToGgufBytes } from '../src/formats/convert.js';
import { openModel } from '../src/formats/open-model.js';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { resolveSampling } from '../src/sampler/params.js';
import { argmax } from '../src/sampler/sample.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { openStories260K, REFERENCE_OPENING } from './helpers/models.js';
import { dawnDevice, freshDawnDevice } from './helpers/webgpu.js';

const POSITIONS = 200;
// Logits of stories260K are O(10); the GPU sums in f32 in another order than the reference.
const LOGIT_TOL = 1e-3;
const PAGE = 16;

async function converted(model: ModelFile, type: ConvertType): Promise<ModelFile> {
  const bytes = await convertToGgufBytes(model, type);
  return openModel(bytesSource(bytes, `stories260K.${type}.gguf`));
}

function pages(first: number, count: number, stride = 1): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => first + i * stride);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}

/** The reference's greedy run: every position's token and logits. */
async function referenceRun(model: ModelFile, prompt: number[], positions: number) {
  const ref = await ReferenceModel.load(model, positions);
  const tokens = [...prompt];
  const logits: Float32Array[] = [];
  for (let pos = 0; pos < positions; pos++) {
    const l = ref.forward(tokens[pos]!, pos);
    logits.push(l.slice());
    if (pos + 1 >= tokens.length && tokens.length < positions) tokens.push(argmax(l));
  }
  return { tokens, logits };
}

const base = await openStories260K();
const tok = new Tokenizer(base.tokenizer);
const prompt = tok.encode('Once upon a time');

// The fused kernels (one dispatch per layer, CPU-like adapters) and the general ones, forced
// either way so both are judged against the reference whatever the adapter is.
const FUSED = { wg: 8, maxTokens: 16, headRowsPerWg: 1024, rpt: 4 };
const paths = { fused: { fused: FUSED }, general: { fused: null } } as const;
// Judged against the float reference's logits: float arithmetic, not llama.cpp's (int8 matrix
// inputs, f16 cache), which the llama.cpp files' tests hold to llama.cpp's tokens instead.
const FLOAT = { kvCache: 'f32', activations: 'f32' } as const;

describe.each<[ConvertType | 'llama2c f32', keyof typeof paths]>([
  ['llama2c f32', 'fused'],
  ['llama2c f32', 'general'],
  ['q8_0', 'fused'],
  ['q8_0', 'general'],
  ['q4_0', 'fused'],
  ['q4_0', 'general'],
])('WebGPU backend on stories260K %s, %s kernels', (kind, path) => {
  let model: ModelFile;
  let backend: WebGpuBackend;
  let ref: Awaited<ReturnType<typeof referenceRun>>;

  beforeAll(async () => {
    model = kind === 'llama2c f32' ? base : await converted(base, kind);
    ref = await referenceRun(model, prompt, POSITIONS);
    backend = await createWebGpuBackend(model, {
      device: await dawnDevice(),
      pageSize: PAGE,
      pageCount: 40,
      profile: paths[path],
      ...FLOAT,
    });
  });

  it(`matches the reference logits (±${LOGIT_TOL}) and top-1 over ${POSITIONS} positions`, async () => {
    const seqPages = pages(3, Math.ceil(POSITIONS / PAGE), 2);
    let worst = 0;
    let agree = 0;
    const [first] = await backend.forward([{ tokens: prompt, startPos: 0, pages: seqPages }]);
    const check = (got: Float32Array, pos: number) => {
      worst = Math.max(worst, maxDiff(got, ref.logits[pos]!));
      if (argmax(got) === argmax(ref.logits[pos]!)) agree++;
    };
    check(first!, prompt.length - 1);
    for (let pos = prompt.length; pos < POSITIONS; pos++) {
      const [l] = await backend.forward([{ tokens: [ref.tokens[pos]!], startPos: pos, pages: seqPages }]);
      check(l!, pos);
    }
    expect(worst).toBeLessThanOrEqual(LOGIT_TOL);
    expect(agree).toBe(POSITIONS - prompt.length + 1);
  });

  it('greedy decoding on the GPU (token ids read back) gives the reference text', async () => {
    // Other pages than the first test's, in descending order.
    const seqPages = Int32Array.from({ length: Math.ceil(POSITIONS / PAGE) }, (_, i) => 39 - i);
    const greedy = [{ params: resolveSampling({}), counter: 0 }];
    const tokens = [...prompt];
    let step: SequenceStep = { tokens: prompt, startPos: 0, pages: seqPages };
    while (tokens.length < POSITIONS) {
      const [next] = await backend.forwardSample([step], greedy);
      tokens.push(next!);
      step = { tokens: [next!], startPos: tokens.length - 1, pages: seqPages };
    }
    expect(backend.stats.submits).toBe(1);
    expect(backend.stats.fusedSubmits).toBe(path === 'fused' ? 1 : 0);
    expect(tokens).toEqual(ref.tokens);
    const text = tok.decode(tokens.slice(1));
    expect(text).toBe(tok.decode(ref.tokens.slice(1)));
    if (kind === 'llama2c f32') expect(text.startsWith(REFERENCE_OPENING)).toBe(true);
  });
});

describe('WebGPU backend: batching, chunked prefill, device loss', () => {
  it('a prefill split into chunks and a batched decode of two sequences match single reference runs', async () => {
    const device = await dawnDevice();
    // Chunks of 8 prefill on the general kernels, decode steps (2 tokens) on the fused ones.
    const backend = await createWebGpuBackend(base, {
      device,
      pageSize: 4,
      pageCount: 64,
      maxTokens: 8,
      profile: { fused: { ...FUSED, maxTokens: 2 } },
      ...FLOAT,
    });
    const longPrompt = tok.encode(
      'Once upon a time, there was a big dog. The dog liked to run and jump in the sun.',
    );
    const other = tok.encode('Tom had a red ball');
    const a = await referenceRun(base, longPrompt, longPrompt.length + 3);
    const b = await referenceRun(base, other, other.length + 3);
    const pa = pages(0, 16);
    const pb = pages(32, 16);
    // Both prompts in one forward: 29 + 6 tokens in chunks of 8, last tokens held back.
    const [la, lb] = await backend.forward([
      { tokens: longPrompt, startPos: 0, pages: pa },
      { tokens: other, startPos: 0, pages: pb },
    ]);
    expect(backend.stats.submits).toBeGreaterThan(1);
    // Both kinds of chunk ran: full ones general, the short tail and held-back last tokens fused.
    expect(backend.stats.fusedSubmits).toBeGreaterThan(0);
    expect(backend.stats.fusedSubmits).toBeLessThan(backend.stats.submits);
    expect(maxDiff(la!, a.logits[longPrompt.length - 1]!)).toBeLessThanOrEqual(LOGIT_TOL);
    expect(maxDiff(lb!, b.logits[other.length - 1]!)).toBeLessThanOrEqual(LOGIT_TOL);
    for (let k = 0; k < 3; k++) {
      const pa0 = longPrompt.length + k;
      const pb0 = other.length + k;
      const [da, db] = await backend.forward([
        { tokens: [a.tokens[pa0]!], startPos: pa0, pages: pa },
        { tokens: [b.tokens[pb0]!], startPos: pb0, pages: pb },
      ]);
      expect(backend.stats.submits).toBe(1);
      expect(backend.stats.fusedSubmits).toBe(1);
      if (pa0 < a.logits.length) expect(maxDiff(da!, a.logits[pa0]!)).toBeLessThanOrEqual(LOGIT_TOL);
      if (pb0 < b.logits.length) expect(maxDiff(db!, b.logits[pb0]!)).toBeLessThanOrEqual(LOGIT_TOL);
    }
    backend.dispose();
  });

  it('reports DEVICE_LOST after the device goes, and a new backend works afterwards', async () => {
    const device = await freshDawnDevice();
    const backend = await createWebGpuBackend(base, { device, pageCount: 8 });
    device.destroy();
    await device.lost;
    const err = await backend
      .forward([{ tokens: [1], startPos: 0, pages: pages(0, 1) }])
      .catch((e: unknown) => e);
    expect(isEdgeLMError(err) && err.code).toBe('DEVICE_LOST');
    const again = await createWebGpuBackend(base, { device: await freshDawnDevice(), pageCount: 8 });
    const [l] = await again.forward([{ tokens: [1], startPos: 0, pages: pages(0, 1) }]);
    expect(l!.length).toBe(base.config.vocabSize);
    again.dispose();
  });

  it('refuses bad pages and tokens with typed errors', async () => {
    const backend = await createWebGpuBackend(base, { device: await dawnDevice(), pageCount: 8 });
    const bad = await backend
      .forward([{ tokens: [1, 2], startPos: 0, pages: Int32Array.of(99) }])
      .catch((e: unknown) => e);
    expect(isEdgeLMError(bad) && bad.code).toBe('INVALID_ARGUMENT');
    const tooFew = await backend
      .forward([{ tokens: [1], startPos: 40, pages: pages(0, 1) }])
      .catch((e: unknown) => e);
    expect(isEdgeLMError(tooFew) && tooFew.code).toBe('CONTEXT_OVERFLOW');
    backend.dispose();
  });
});
