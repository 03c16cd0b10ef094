import { describe, expect, it } from 'vitest';
import {
  decideAfterLocalFailure,
  decideRoute,
  type FallbackPolicy,
  type RouteInput,
} from '../src/remote/policy.js';

const allow: FallbackPolicy = { url: 'http://127.0.0.1:1', privacy: 'allow-remote' };
const localOnly: FallbackPolicy = { url: 'http://127.0.0.1:1', privacy: 'local-only' };
const fits: RouteInput['local'] = {
  backendAvailable: true,
  contextLength: 512,
  modelBytes: 1_000,
  memoryBytes: 10_000,
  largestTensorBytes: 100,
  maxBufferBytes: 1_000,
};

function input(over: Partial<RouteInput>, local: Partial<RouteInput['local']> = {}): RouteInput {
  return { promptTokens: 100, maxTokens: 100, fallback: allow, ...over, local: { ...fits, ...local } };
}

describe('decideRoute', () => {
  const cases: {
    name: string;
    in: RouteInput;
    target: 'local' | 'remote';
    failure?: string;
    reason: RegExp;
  }[] = [
    { name: 'fits locally', in: input({}), target: 'local', reason: /fits the local device/ },
    {
      name: 'exactly the context length still fits',
      in: input({ promptTokens: 412, maxTokens: 100 }),
      target: 'local',
      reason: /fits/,
    },
    {
      name: 'prompt + maxTokens over the context goes remote',
      in: input({ promptTokens: 413, maxTokens: 100 }),
      target: 'remote',
      reason: /413 prompt \+ 100 new tokens exceed the local context of 512/,
    },
    {
      name: 'too long with local-only fails with CONTEXT_OVERFLOW',
      in: input({ promptTokens: 600, fallback: localOnly }),
      target: 'local',
      failure: 'CONTEXT_OVERFLOW',
      reason: /local-only/,
    },
    {
      name: 'too long without any fallback fails with CONTEXT_OVERFLOW',
      in: input({ promptTokens: 600, fallback: undefined }),
      target: 'local',
      failure: 'CONTEXT_OVERFLOW',
      reason: /no fallback server/,
    },
    {
      name: 'too long with when.promptTooLong=false stays local and fails',
      in: input({ promptTokens: 600, fallback: { ...allow, when: { promptTooLong: false } } }),
      target: 'local',
      failure: 'CONTEXT_OVERFLOW',
      reason: /when.promptTooLong is false/,
    },
    {
      name: 'model bytes over device memory goes remote',
      in: input({}, { modelBytes: 20_000 }),
      target: 'remote',
      reason: /model needs 20000 bytes/,
    },
    {
      name: 'a tensor over the buffer limit goes remote',
      in: input({}, { largestTensorBytes: 5_000 }),
      target: 'remote',
      reason: /buffer limit/,
    },
    {
      name: 'too large with when.modelTooLarge=false fails with OUT_OF_MEMORY',
      in: input({ fallback: { ...allow, when: { modelTooLarge: false } } }, { modelBytes: 20_000 }),
      target: 'local',
      failure: 'OUT_OF_MEMORY',
      reason: /modelTooLarge is false/,
    },
    {
      name: 'no backend goes remote',
      in: input({}, { backendAvailable: false }),
      target: 'remote',
      reason: /no usable local backend/,
    },
    {
      name: 'no backend with local-only fails with NO_BACKEND',
      in: input({ fallback: localOnly }, { backendAvailable: false }),
      target: 'local',
      failure: 'NO_BACKEND',
      reason: /no usable/,
    },
    {
      name: 'unknown capacities are not judged',
      in: { promptTokens: 10_000, maxTokens: 10, fallback: allow, local: { backendAvailable: true } },
      target: 'local',
      reason: /fits/,
    },
    {
      name: "route: 'remote' goes remote even when it fits",
      in: input({ route: 'remote' }),
      target: 'remote',
      reason: /route: 'remote' requested/,
    },
    {
      name: "route: 'remote' with local-only is POLICY_DENIED",
      in: input({ route: 'remote', fallback: localOnly }),
      target: 'local',
      failure: 'POLICY_DENIED',
      reason: /local-only/,
    },
    {
      name: "route: 'remote' without a server is POLICY_DENIED",
      in: input({ route: 'remote', fallback: undefined }),
      target: 'local',
      failure: 'POLICY_DENIED',
      reason: /no fallback server/,
    },
    {
      name: "route: 'local' keeps an oversized prompt local and fails",
      in: input({ route: 'local', promptTokens: 600 }),
      target: 'local',
      failure: 'CONTEXT_OVERFLOW',
      reason: /route: 'local' requested/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const d = decideRoute(c.in);
      expect(d.target).toBe(c.target);
      expect(d.failure?.code).toBe(c.failure);
      expect(d.reason).toMatch(c.reason);
    });
  }

  it('never chooses remote under local-only, whatever the input', () => {
    for (const route of ['auto', 'local', 'remote'] as const)
      for (const backendAvailable of [true, false])
        for (const promptTokens of [10, 10_000])
          for (const modelBytes of [10, 1e12]) {
            const d = decideRoute(
              input({ route, promptTokens, fallback: localOnly }, { backendAvailable, modelBytes }),
            );
            expect(d.target).toBe('local');
          }
  });
});

describe('decideAfterLocalFailure', () => {
  const onFailure: FallbackPolicy = { ...allow, when: { onLocalFailure: true } };
  it('retries device failures remotely only when allowed and asked for', () => {
    expect(decideAfterLocalFailure(onFailure, 'DEVICE_LOST')?.target).toBe('remote');
    expect(decideAfterLocalFailure(onFailure, 'OUT_OF_MEMORY')?.reason).toMatch(/OUT_OF_MEMORY/);
    expect(decideAfterLocalFailure(allow, 'DEVICE_LOST')).toBeUndefined();
    expect(decideAfterLocalFailure({ ...onFailure, privacy: 'local-only' }, 'DEVICE_LOST')).toBeUndefined();
    expect(decideAfterLocalFailure(undefined, 'DEVICE_LOST')).toBeUndefined();
  });
  it('does not retry usage errors remotely', () => {
    expect(decideAfterLocalFailure(onFailure, 'INVALID_ARGUMENT')).toBeUndefined();
    expect(decideAfterLocalFailure(onFailure, 'ABORTED')).toBeUndefined();
  });
});
