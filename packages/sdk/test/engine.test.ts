import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { LocalEngine, type LocalEngineOptions } from '../src/engine/local-engine.js';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { argmax } from '../src/sampler/sample.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { openStories260K, REFERENCE_OPENING } from './helpers/models.js';

let model: ModelFile;
const engines: LocalEngine[] = [];
async function engine(opts: LocalEngineOptions = {}, pageCount = 256): Promise<LocalEngine> {
  // The response cache would answer repeats without running the model; these tests are about the model.
  const e = new LocalEngine(model, await createCpuBackend(model, { pageSize: 16, pageCount }), {
    responseCache: false,
    ...opts,
  });
  engines.push(e);
  return e;
}

async function complete(e: LocalEngine, prompt: string | number[], maxTokens = 40, extra = {}) {
  const s = e.generate(prompt, { maxTokens, ...extra });
  let streamed = '';
  for await (const c of s) streamed += c.text;
  const r = await s.result;
  expect(streamed).toBe(r.text);
  return r;
}

beforeAll(async () => {
  model = await openStories260K();
});

describe('LocalEngine on the CPU backend', () => {
  it('greedy output equals the reference, token for token', async () => {
    const tok = new Tokenizer(model.tokenizer);
    const ref = await ReferenceModel.load(model);
    const prompt = tok.encode('Once upon a time');
    const expected: number[] = [];
    let logits: Float32Array = new Float32Array(0);
    prompt.forEach((t, i) => {
      logits = ref.forward(t, i);
    });
    for (let pos = prompt.length; expected.length < 60; pos++) {
      const next = argmax(logits);
      expected.push(next);
      logits = ref.forward(next, pos);
    }
    const r = await complete(await engine(), 'Once upon a time', 60);
    expect(r.tokens).toEqual(expected);
    expect(`Once upon a time${r.text}`.startsWith(REFERENCE_OPENING)).toBe(true);
    expect(r.finishReason).toBe('length');
    expect(r.usage).toEqual({
      promptTokens: prompt.length,
      completionTokens: 60,
      totalTokens: prompt.length + 60,
    });
  });

  it('reuses the prefix of a multi-turn chat and a branch, with output identical to no reuse', async () => {
    const withReuse = await engine();
    const without = await engine({ prefixCacheBytes: 0 });
    const turns = [
      'Once upon a time, there was a dog.',
      ' The dog liked to run.',
      ' One day, the dog saw a cat.',
    ];
    let history = '';
    let reusedTotal = 0;
    for (const t of turns) {
      history += t;
      const a = await complete(withReuse, history, 24);
      const b = await complete(without, history, 24);
      expect(a.tokens).toEqual(b.tokens);
      expect(b.prefixTokensReused).toBe(0);
      reusedTotal += a.prefixTokensReused;
      history += a.text;
    }
    expect(reusedTotal).toBeGreaterThan(32);
    // A branch: the same history with a different last sentence, and a regenerate.
    const branch = `${history.slice(0, history.length - 10)} The cat was happy.`;
    const a = await complete(withReuse, branch, 24);
    const b = await complete(without, branch, 24);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.prefixTokensReused).toBeGreaterThan(0);
    const again = await complete(withReuse, branch, 24);
    expect(again.tokens).toEqual(a.tokens);
    expect(again.prefixTokensReused).toBeGreaterThanOrEqual(a.prefixTokensReused);
  });

  it('stays correct while evicting under a tiny prefix budget and a small pool', async () => {
    const pageBytes = (await createCpuBackend(model, { pageSize: 16, pageCount: 1 })).pageBytes;
    const tiny = await engine({ prefixCacheBytes: 2 * pageBytes }, 12);
    const free = await engine({ prefixCacheBytes: 0 });
    const prompts = [
      'Lily and Tom went to the park to play.',
      'The sun was shining and the birds sang.',
      'Lily and Tom went to the park to eat.',
    ];
    for (let round = 0; round < 2; round++) {
      for (const p of prompts) {
        const a = await complete(tiny, p, 40);
        const b = await complete(free, p, 40);
        expect(a.tokens).toEqual(b.tokens);
      }
    }
    expect((await tiny.stats()).prefixCachePages).toBeLessThanOrEqual(2);
  });

  it('stops on abort within a step and serves the next request', async () => {
    const e = await engine();
    const ac = new AbortController();
    const s = e.generate('Once upon a time', { maxTokens: 200, signal: ac.signal });
    let n = 0;
    for await (const _ of s) {
      if (++n === 5) ac.abort();
    }
    const r = await s.result;
    expect(r.finishReason).toBe('abort');
    expect(r.tokens.length).toBeLessThanOrEqual(6);
    const next = await complete(e, 'Once upon a time', 30);
    expect(`Once upon a time${next.text}`.startsWith(REFERENCE_OPENING.slice(0, 60))).toBe(true);
  });

  it('serves 20 concurrent requests, each equal to its own sequential output', async () => {
    const prompts = Array.from(
      { length: 20 },
      (_, i) =>
        `Once upon a time, there was a ${['cat', 'dog', 'bird', 'girl', 'boy'][i % 5]} named ${['Tim', 'Sue', 'Max', 'Ann'][i % 4]}.`,
    );
    const seq = await engine({ maxBatch: 1, prefixCacheBytes: 0 });
    const expected: number[][] = [];
    for (const p of prompts) expected.push((await complete(seq, p, 20)).tokens);
    const conc = await engine({ maxBatch: 8 }, 512);
    const results = await Promise.all(prompts.map((p) => complete(conc, p, 20)));
    results.forEach((r, i) => {
      expect(r.tokens).toEqual(expected[i]);
    });
  });

  it('honours stop strings without leaking them', async () => {
    const r = await complete(await engine(), 'Once upon a time', 100, { stop: ['Lily'] });
    expect(r.text).toBe(', there was a little girl named ');
    expect(r.finishReason).toBe('stop');
  });

  it('gives the same sampled tokens for the same seed', async () => {
    const e = await engine();
    const a = await complete(e, 'Once upon a time', 30, { temperature: 0.9, topK: 40, topP: 0.95, seed: 7 });
    const b = await complete(e, 'Once upon a time', 30, { temperature: 0.9, topK: 40, topP: 0.95, seed: 7 });
    const c = await complete(e, 'Once upon a time', 30, { temperature: 0.9, topK: 40, topP: 0.95, seed: 8 });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
  });

  it('answers a repeated deterministic request from the response cache, a sampled one only when asked', async () => {
    const metrics: boolean[] = [];
    const e = await engine({
      responseCache: { storage: 'memory' },
      onMetrics: (m) => metrics.push(m.cached),
    });
    const first = await complete(e, 'Once upon a time', 30);
    const again = await complete(e, 'Once upon a time', 30);
    expect(first.cached).toBe(false);
    expect(again.cached).toBe(true);
    expect(again.text).toBe(first.text);
    expect(again.tokens).toEqual(first.tokens);
    const sampled = { temperature: 0.8 };
    expect((await complete(e, 'Once upon a time', 10, sampled)).cached).toBe(false);
    expect((await complete(e, 'Once upon a time', 10, sampled)).cached).toBe(false);
    await complete(e, 'Once upon a time', 10, { ...sampled, cache: true, seed: 3 });
    expect((await complete(e, 'Once upon a time', 10, { ...sampled, cache: true, seed: 3 })).cached).toBe(
      true,
    );
    expect((await complete(e, 'Once upon a time', 30, { cache: false })).cached).toBe(false);
    expect((await e.stats()).responseCacheHits).toBe(2);
    expect(metrics.filter(Boolean).length).toBe(2);
  });

  it('answers OpenAI-shaped chat completions, streamed and not', async () => {
    const e = await engine();
    const full = await e.chat.completions.create({
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 20,
    });
    expect(full.object).toBe('chat.completion');
    expect(full.choices[0]!.finish_reason).toBe('length');
    expect(full.usage.completion_tokens).toBe(20);
    const chunks = await e.chat.completions.create({
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 20,
      stream: true,
    });
    let text = '';
    let last = null;
    for await (const ch of chunks) {
      text += ch.choices[0]!.delta.content ?? '';
      last = ch;
    }
    expect(text).toBe(full.choices[0]!.message.content);
    expect(last!.choices[0]!.finish_reason).toBe('length');
  });
});
