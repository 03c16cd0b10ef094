import { expect, test } from '@playwright/test';
import type { LlamaCppArchResult } from '../harness/llamacpp-arch.js';

// Every architecture sample (llama.cpp's converter layout, random weights) through llama.cpp
// itself: the CPU reference, which judges every backend, is judged here. llama.cpp keeps its
// KV cache in f16, hence log-probabilities agree to ~3e-3 nats, not float32 precision; a
// reference ignoring rope_freqs or gemma3's window is off by 0.15–2 nats.
const DECODE = 24;
const NAMES = ['llama', 'llama3', 'qwen2', 'qwen3', 'gemma3', 'phi3'] as const;

for (const name of NAMES) {
  test(`${name}: the CPU reference picks llama.cpp's greedy tokens, log-probabilities within 1e-2`, async ({
    page,
  }) => {
    await page.goto('/harness/llamacpp-arch.html');
    await page.waitForFunction(() => typeof window.llamacppArch === 'function');
    const r: LlamaCppArchResult = await page.evaluate(([n, d]) => window.llamacppArch(n, d), [
      name,
      DECODE,
    ] as const);
    expect(r.positions).toBe(DECODE);
    expect(r.firstMismatch).toBeNull();
    expect(r.sameTokens).toBe(DECODE);
    expect(r.maxLogprobDiff).toBeLessThan(1e-2);
  });
}
