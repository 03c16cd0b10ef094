import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine, isEdgeLMError } from '@edgelm/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY_PREFIX, testServer } from './helpers.js';

const DIR = process.env.EDGELM_MODELS_DIR!;
type Server = Awaited<ReturnType<typeof testServer>>;

// In Node there is no navigator.gpu, so asking for WebGPU is "no usable backend here".
async function webgpuOnlyEngine(privacy: 'allow-remote' | 'local-only', url: string) {
  return createEngine({
    model: new Uint8Array(await readFile(join(DIR, 'stories260K.bin'))),
    tokenizer: new Uint8Array(await readFile(join(DIR, 'tok512.bin'))),
    backend: 'webgpu',
    worker: false,
    fallback: { url, privacy },
  });
}

describe('an engine with no local backend', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('sends every request to the fallback server when the policy allows, saying why', async () => {
    const engine = await webgpuOnlyEngine('allow-remote', server.url);
    expect((await engine.info()).backend).toBe('remote');
    const s = engine.generate('Once upon a time', { maxTokens: 20 });
    let text = '';
    for await (const c of s) text += c.text;
    const r = await s.result;
    expect(GREEDY_PREFIX.startsWith(text.slice(0, 40))).toBe(true);
    expect(r.servedBy).toBe('remote');
    expect(r.routeReason).toMatch(/NO_BACKEND/);
    const chat = await engine.chat.completions.create({
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 8,
    });
    expect(chat.choices[0]!.message.content?.length).toBeGreaterThan(0);
  });

  it('stats() counts completed and failed remote requests, and their tokens', async () => {
    const engine = await webgpuOnlyEngine('allow-remote', server.url);
    await engine.generate('Once upon a time', { maxTokens: 6 }).result;
    const refused = await engine
      .generate('Once upon a time', { maxTokens: 100_000 })
      .result.catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'REMOTE_HTTP',
      details: { status: 400, param: 'max_tokens', type: 'invalid_request_error' },
    });
    const stats = await engine.stats();
    expect(stats).toMatchObject({
      requests: 2,
      remoteRequests: 2,
      completed: 1,
      failed: 1,
      completionTokens: 6,
    });
    expect(stats.promptTokens).toBeGreaterThan(0);
  });

  it("fails with the typed error under 'local-only'", async () => {
    const e = await webgpuOnlyEngine('local-only', server.url).catch((x: unknown) => x);
    expect(isEdgeLMError(e) && e.code).toBe('NO_BACKEND');
  });
});
