import { RemoteClient } from '@edgelm/sdk/remote';

const WHO = [
  'a little girl',
  'a big dog',
  'a small cat',
  'a brave boy',
  'a happy bird',
  'an old man',
  'a tiny fish',
  'a red ball',
];
const WHERE = [
  'in the park',
  'at home',
  'in the forest',
  'by the sea',
  'in the garden',
  'at school',
  'on a farm',
  'in the sky',
];

/** `n` distinct story openings (up to 64), so no two requests can share an answer by accident. */
export function prompts(n: number): string[] {
  const out: string[] = [];
  for (const who of WHO) for (const where of WHERE) out.push(`Once upon a time, ${who} ${where}`);
  return out.slice(0, n);
}

export interface StreamOutcome {
  text: string;
  tokens: number;
  ttftMs: number;
  totalMs: number;
}

/**
 * Fires all prompts at once as streaming completions through the SDK's remote client (no
 * retries, so a failure shows) and waits for every one.
 */
export async function fireConcurrent(
  url: string,
  all: string[],
  maxTokens: number,
): Promise<{ outcomes: StreamOutcome[]; wallMs: number }> {
  const client = new RemoteClient({
    url,
    retry: { maxRetries: 0 },
    idleTimeoutMs: 120_000,
    connectTimeoutMs: 120_000,
  });
  const t0 = performance.now();
  const outcomes = await Promise.all(
    all.map(async (prompt) => {
      const r = await client.generate(prompt, { maxTokens, cache: false }).result;
      return {
        text: r.text,
        tokens: r.usage.completionTokens,
        ttftMs: r.timings.ttftMs,
        totalMs: r.timings.totalMs,
      };
    }),
  );
  return { outcomes, wallMs: performance.now() - t0 };
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
