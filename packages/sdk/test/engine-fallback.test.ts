import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { createLocalEngine } from '../src/engine/create-local-engine.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import { EdgeLMError, type EdgeLMErrorCode, isEdgeLMError } from '../src/errors.js';
import type { ModelFile } from '../src/model/model-file.js';
import type { FallbackPolicy } from '../src/remote/policy.js';
import { modelBytes, openStories260K } from './helpers/models.js';

/** A loopback OpenAI-compatible server that answers every completion with the same words. */
interface FakeServer {
  url: string;
  bodies: Record<string, unknown>[];
}
const REMOTE_WORDS = [' and', ' the', ' end.'];
let server: Server;
let remote: FakeServer;
let model: ModelFile;

beforeAll(async () => {
  model = await openStories260K();
  const bodies: Record<string, unknown>[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const text of REMOTE_WORDS)
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text, finish_reason: null }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: '', finish_reason: 'stop' }] })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  remote = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bodies };
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** The CPU backend, but it fails with `code` (device lost) after `okSteps` forward steps. */
async function failingBackend(okSteps: number, code: EdgeLMErrorCode = 'DEVICE_LOST'): Promise<Backend> {
  const cpu: Backend = await createCpuBackend(model, { pageSize: 16, pageCount: 64 });
  let steps = 0;
  const lose = () => {
    if (steps++ >= okSteps) throw new EdgeLMError(code, `the backend failed (${code})`);
  };
  const failing = Object.create(cpu) as Backend;
  failing.forward = async (steps) => {
    lose();
    return cpu.forward(steps);
  };
  if (cpu.forwardSample)
    failing.forwardSample = async (steps, sampling) => {
      lose();
      return cpu.forwardSample!(steps, sampling);
    };
  return failing;
}

const allow = (when: FallbackPolicy['when']): FallbackPolicy => ({
  url: remote.url,
  privacy: 'allow-remote',
  when,
});

describe('fallback.when.onLocalFailure', () => {
  it('continues on the server from where the device failed', async () => {
    const e = new LocalEngine(model, await failingBackend(6), {
      responseCache: false,
      fallback: allow({ onLocalFailure: true }),
    });
    const before = remote.bodies.length;
    const s = e.generate('Once upon a time', { maxTokens: 20 });
    let streamed = '';
    for await (const c of s) streamed += c.text;
    const r = await s.result;
    expect(r.servedBy).toBe('remote');
    expect(r.routeReason).toMatch(/DEVICE_LOST/);
    expect(streamed).toBe(r.text);
    expect(r.text.endsWith(REMOTE_WORDS.join(''))).toBe(true);
    // The local part (a prefill and a few decode steps) came first; the server continued it.
    const local = r.text.slice(0, -REMOTE_WORDS.join('').length);
    expect(local.length).toBeGreaterThan(0);
    const body = remote.bodies[before]!;
    expect(body.prompt).toBe(`Once upon a time${local}`);
    // Only what is left of maxTokens: 20 minus the tokens the device produced.
    expect(body.max_tokens).toBe(20 - r.tokens.length);
    await e.unload();
  });

  it('is off by default: the device error reaches the caller and nothing is sent', async () => {
    const e = new LocalEngine(model, await failingBackend(3), { responseCache: false, fallback: allow({}) });
    const before = remote.bodies.length;
    const err = await e.generate('Once upon a time', { maxTokens: 20 }).result.catch((x: unknown) => x);
    expect(isEdgeLMError(err) && err.code).toBe('DEVICE_LOST');
    expect(remote.bodies.length).toBe(before);
    await e.unload();
  });

  it('never retries a failure the server would not fix', async () => {
    const e = new LocalEngine(model, await failingBackend(3, 'CORRUPT'), {
      responseCache: false,
      fallback: allow({ onLocalFailure: true }),
    });
    const before = remote.bodies.length;
    const err = await e.generate('Once upon a time', { maxTokens: 20 }).result.catch((x: unknown) => x);
    expect(isEdgeLMError(err) && err.code).toBe('CORRUPT');
    expect(remote.bodies.length).toBe(before);
    await e.unload();
  });
});

describe('fallback.when.modelTooLarge', () => {
  const files = async () => ({
    model: await modelBytes('stories260K.bin'),
    tokenizer: await modelBytes('tok512.bin'),
  });

  it("routes a model over the device's limit to the server without loading it", async () => {
    const e = await createLocalEngine({
      ...(await files()),
      backend: 'cpu',
      maxModelBytes: 100_000, // stories260K has ~1 MB of f32 weights
      fallback: allow({}),
    });
    const info = await e.info();
    expect(info.backend).toBe('remote');
    expect(info.model.format).toBe('llama2c');
    expect(info.model.config.dim).toBe(model.config.dim);
    const r = await e.generate('Once upon a time', { maxTokens: 8 }).result;
    expect(r.servedBy).toBe('remote');
    expect(r.routeReason).toMatch(/model needs \d+ bytes, the device allows 100000/);
    expect(r.text).toBe(REMOTE_WORDS.join(''));
  });

  it('loads locally when the model fits', async () => {
    const e = await createLocalEngine({
      ...(await files()),
      backend: 'cpu',
      maxModelBytes: 1e9,
      fallback: allow({}),
    });
    expect((await e.info()).backend).toBe('cpu');
    await e.unload();
  });

  it('fails with OUT_OF_MEMORY when the policy keeps it local', async () => {
    const err = await createLocalEngine({
      ...(await files()),
      backend: 'cpu',
      maxModelBytes: 100_000,
      fallback: allow({ modelTooLarge: false }),
    }).catch((x: unknown) => x);
    expect(isEdgeLMError(err) && err.code).toBe('OUT_OF_MEMORY');
  });
});
