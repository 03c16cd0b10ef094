import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fireConcurrent, prompts } from '../bench/load-client.js';
import { testServer } from './helpers.js';

type Server = Awaited<ReturnType<typeof testServer>>;
const N = 64;
const MAX_TOKENS = 24;

describe('server under load (loopback)', () => {
  let server: Server;
  beforeAll(async () => {
    server = await testServer({ EDGELM_MAX_BATCH: '16' });
  });
  afterAll(() => server.close(1_000));

  it(`${N} concurrent streaming requests all complete, each equal to its own sequential greedy output`, async () => {
    const all = prompts(N);
    expect(new Set(all).size).toBe(N);
    const sequential: string[] = [];
    for (const p of all)
      sequential.push((await server.engine.generate(p, { maxTokens: MAX_TOKENS, cache: false }).result).text);
    // Distinct prompts must give distinct answers somewhere, or the comparison would prove little.
    expect(new Set(sequential).size).toBeGreaterThan(N / 4);

    const { outcomes } = await fireConcurrent(server.url, all, MAX_TOKENS);
    expect(outcomes).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      expect(outcomes[i].text, all[i]).toBe(sequential[i]);
      expect(outcomes[i].tokens).toBe(MAX_TOKENS);
    }
    expect(server.inFlight.size).toBe(0);
  });
});
