import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/api/engine.js';
import type { GenerateChunk, GenerateResult } from '../src/api/types.js';
import {
  canonicalJson,
  isCacheable,
  ResponseCache,
  replayResponse,
  responseCacheKey,
  withResponseCache,
} from '../src/cache/index.js';
import { createLocalEngine } from '../src/engine/create-local-engine.js';

function answer(text: string[], finishReason: GenerateResult['finishReason'] = 'stop') {
  const chunks: GenerateChunk[] = text.map((t, i) => ({ text: t, token: 100 + i }));
  const result: GenerateResult = {
    text: text.join(''),
    tokens: chunks.map((c) => c.token),
    finishReason,
    usage: { promptTokens: 3, completionTokens: chunks.length, totalTokens: 3 + chunks.length },
    timings: { ttftMs: 12, prefillTokensPerSecond: 100, decodeTokensPerSecond: 50, totalMs: 80 },
    prefixTokensReused: 0,
    cached: false,
    servedBy: 'local',
    routeReason: 'local model',
  };
  return { chunks, result };
}

let names = 0;
const freshCache = (opts: ConstructorParameters<typeof ResponseCache>[0] = {}) =>
  new ResponseCache({ name: `responses-${++names}`, ...opts });

describe('response cache keys', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe(
      canonicalJson({ a: [1, { d: 2 }], b: 1 }),
    );
    expect(canonicalJson({ a: -0 })).toBe('{"a":0}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
  });

  it('keys on everything the answer depends on, and only that', async () => {
    const base = { model: 'm', prompt: 'Once upon a time', sampling: {}, maxTokens: 32 };
    const k = await responseCacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    // Greedy decoding ignores seed, topK, topP and minP; defaults equal explicit defaults.
    expect(
      await responseCacheKey({ ...base, sampling: { temperature: 0, seed: 7, topK: 40, topP: 0.9 } }),
    ).toBe(k);
    expect(await responseCacheKey({ ...base, sampling: { repetitionPenalty: 1 } })).toBe(k);
    for (const other of [
      { ...base, model: 'm2' },
      { ...base, prompt: 'Once upon a time.' },
      { ...base, prompt: [1, 2, 3] },
      { ...base, maxTokens: 33 },
      { ...base, stop: ['.'] },
      { ...base, template: '{{ x }}' },
      { ...base, sampling: { repetitionPenalty: 1.1 } },
      { ...base, sampling: { temperature: 0.8, seed: 1 } },
      { ...base, constraint: { type: 'json' } },
      { model: 'm', messages: [{ role: 'user' as const, content: 'Once upon a time' }], maxTokens: 32 },
    ]) {
      expect(await responseCacheKey(other)).not.toBe(k);
    }
    const s1 = await responseCacheKey({ ...base, sampling: { temperature: 0.8, seed: 1 } });
    expect(await responseCacheKey({ ...base, sampling: { temperature: 0.8, seed: 2 } })).not.toBe(s1);
  });

  it('caches deterministic requests by default, with per-request opt-in and opt-out', () => {
    expect(isCacheable({})).toBe(true);
    expect(isCacheable({ temperature: 0 })).toBe(true);
    expect(isCacheable({ temperature: 0.7 })).toBe(false);
    expect(isCacheable({ temperature: 0.7, seed: 3 })).toBe(true);
    expect(isCacheable({ temperature: 0.7, cache: true })).toBe(true);
    expect(isCacheable({ temperature: 0, cache: false })).toBe(false);
  });
});

describe('ResponseCache', () => {
  it('stores, finds, counts, and survives a new instance on the same database', async () => {
    const cache = freshCache();
    expect(await cache.get('k')).toBeUndefined();
    const stored = await cache.put('k', answer(['Once', ' upon']));
    expect(stored?.size).toBeGreaterThan(0);
    const hit = await cache.get('k');
    expect(hit?.chunks).toEqual(answer(['Once', ' upon']).chunks);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, bytes: stored?.size });

    const reopened = new ResponseCache({ name: `responses-${names}` });
    expect((await reopened.get('k'))?.result.text).toBe('Once upon');
    expect(reopened.stats()).toMatchObject({ hits: 1, entries: 1, bytes: stored?.size });
    await reopened.clear();
    expect(await reopened.get('k')).toBeUndefined();
    expect(reopened.stats()).toMatchObject({ entries: 0, bytes: 0, misses: 1 });
  });

  it('expires entries after the TTL', async () => {
    const cache = freshCache({ ttlMs: 30 });
    await cache.put('k', answer(['a']));
    expect(await cache.get('k')).toBeDefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(await cache.get('k')).toBeUndefined();
    expect(cache.stats().entries).toBe(0);
  });

  it('keeps within its byte budget by dropping the least recently used entries', async () => {
    const one =
      2 *
      JSON.stringify({ ...answer(['x'.repeat(100)]), result: { ...answer(['x'.repeat(100)]).result } })
        .length;
    const cache = freshCache({ storage: 'memory', maxBytes: Math.floor(one * 2.5) });
    await cache.put('a', answer(['x'.repeat(100)]));
    await new Promise((r) => setTimeout(r, 2));
    await cache.put('b', answer(['y'.repeat(100)]));
    await new Promise((r) => setTimeout(r, 2));
    await cache.get('a'); // a is now more recent than b
    await new Promise((r) => setTimeout(r, 2));
    await cache.put('c', answer(['z'.repeat(100)]));
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBeDefined();
    expect(await cache.get('c')).toBeDefined();
    expect(cache.stats()).toMatchObject({ evictions: 1, entries: 2 });
    expect(cache.stats().bytes).toBeLessThanOrEqual(cache.maxBytes);
    // An answer larger than the whole budget is not stored and evicts nothing.
    expect(await cache.put('huge', answer(['w'.repeat(10_000)]))).toBeUndefined();
    expect(cache.stats().entries).toBe(2);
  });
});

describe('replay', () => {
  it('replays the same chunks, marked as cached', async () => {
    const { chunks, result } = answer(['Once', ' upon', ' a']);
    const stream = replayResponse({ chunks, result, created: 0, lastUsed: 0, size: 1 });
    const seen: GenerateChunk[] = [];
    for await (const c of stream) seen.push(c);
    expect(seen).toEqual(chunks);
    const r = await stream.result;
    expect(r).toMatchObject({
      text: 'Once upon a',
      tokens: [100, 101, 102],
      cached: true,
      finishReason: 'stop',
    });
    expect(r.usage).toEqual(result.usage);
  });

  it('gives an abort result when the signal is already aborted', async () => {
    const { chunks, result } = answer(['Once', ' upon']);
    const stream = replayResponse(
      { chunks, result, created: 0, lastUsed: 0, size: 1 },
      { signal: AbortSignal.abort() },
    );
    const seen: GenerateChunk[] = [];
    for await (const c of stream) seen.push(c);
    expect(seen).toEqual([]);
    expect(await stream.result).toMatchObject({ finishReason: 'abort', text: '', cached: true });
  });
});

describe('response cache in front of the real engine (stories260K, CPU)', () => {
  let engine: Engine;
  beforeAll(async () => {
    const dir = process.env.EDGELM_MODELS_DIR!;
    engine = await createLocalEngine({
      model: readFileSync(join(dir, 'stories260K.bin')),
      tokenizer: readFileSync(join(dir, 'tok512.bin')),
      backend: 'cpu',
    });
  });
  afterAll(async () => engine?.unload());

  async function run(cache: ResponseCache, prompt: string, options: Parameters<Engine['generate']>[1]) {
    let generated = 0;
    const stream = withResponseCache(
      cache,
      { key: { model: 'stories260K', prompt, sampling: options, maxTokens: options?.maxTokens }, options },
      () => {
        generated++;
        return engine.generate(prompt, options);
      },
    );
    const chunks: GenerateChunk[] = [];
    for await (const c of stream) chunks.push(c);
    return { chunks, result: await stream.result, generated };
  }

  it('answers a repeated greedy request from the cache with the same stream', async () => {
    const cache = freshCache();
    const first = await run(cache, 'Once upon a time', { maxTokens: 24 });
    expect(first.generated).toBe(1);
    expect(first.result.cached).toBe(false);
    expect('Once upon a time' + first.result.text).toMatch(
      /^Once upon a time, there was a little girl named Lily/,
    );
    const second = await run(cache, 'Once upon a time', { maxTokens: 24, temperature: 0 });
    expect(second.generated).toBe(0);
    expect(second.result.cached).toBe(true);
    expect(second.chunks).toEqual(first.chunks);
    expect(second.result.text).toBe(first.result.text);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('caches a constrained greedy answer under its grammar, and only under it', async () => {
    const dir = process.env.EDGELM_MODELS_DIR!;
    const own = await createLocalEngine({
      model: readFileSync(join(dir, 'stories260K.bin')),
      tokenizer: readFileSync(join(dir, 'tok512.bin')),
      backend: 'cpu',
      responseCache: { storage: 'memory' },
    });
    try {
      const schema = { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 3 };
      const first = await own.generate('Once upon a time', { jsonSchema: schema, maxTokens: 24 }).result;
      const again = await own.generate('Once upon a time', { jsonSchema: schema, maxTokens: 24 }).result;
      expect(first.cached).toBe(false);
      expect(again.cached).toBe(true);
      expect(again.text).toBe(first.text);
      const other = { ...schema, maxItems: 2 };
      const third = await own.generate('Once upon a time', { jsonSchema: other, maxTokens: 24 }).result;
      expect(third.cached).toBe(false);
      const plain = await own.generate('Once upon a time', { maxTokens: 24 }).result;
      expect(plain.cached).toBe(false);
    } finally {
      await own.unload();
    }
  });

  it('does not cache a sampled request unless asked, and caches it when asked', async () => {
    const cache = freshCache();
    const sampled = { maxTokens: 16, temperature: 1 };
    await run(cache, 'Once upon a time', sampled);
    expect((await run(cache, 'Once upon a time', sampled)).generated).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, entries: 0 });

    const optIn = { ...sampled, cache: true };
    const first = await run(cache, 'Once upon a time', optIn);
    const second = await run(cache, 'Once upon a time', optIn);
    expect([first.generated, second.generated]).toEqual([1, 0]);
    expect(second.result).toMatchObject({ cached: true, text: first.result.text });

    const optOut = { maxTokens: 16, cache: false };
    await run(cache, 'Once upon a time', optOut);
    expect((await run(cache, 'Once upon a time', optOut)).generated).toBe(1);
  });

  it('stores an answer even when the caller only awaits the result, and never an aborted one', async () => {
    const cache = freshCache();
    const stream = withResponseCache(cache, { key: { model: 's', prompt: 'The cat' } }, () =>
      engine.generate('The cat', { maxTokens: 8 }),
    );
    await stream.result;
    expect(cache.stats().entries).toBe(1);

    const controller = new AbortController();
    const options = { maxTokens: 200, signal: controller.signal };
    const aborted = withResponseCache(
      cache,
      { key: { model: 's', prompt: 'The dog', maxTokens: 200 }, options },
      () => engine.generate('The dog', options),
    );
    for await (const _ of aborted) {
      controller.abort();
    }
    expect((await aborted.result).finishReason).toBe('abort');
    expect(cache.stats().entries).toBe(1);
  });
});
