// Load on loopback: 64 concurrent streaming completions against the reference server, with
// continuous batching on (16 sequences per decode step) and off (1, the baseline).
// Prints p50/p95 TTFT and total tokens/s; writes bench-results/server-load.json.
// Run: pnpm --filter @edgelm/server bench   (or `pnpm bench server-load` from the root)
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchFigure, summarize, writeBench } from '../../sdk/bench/report.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { fireConcurrent, percentile, prompts } from './load-client.js';

const CONCURRENT = 64;
const MAX_TOKENS = 32;
const ROUNDS = 3;

interface Round {
  ttftP50: number;
  ttftP95: number;
  tokensPerSecond: number;
}

async function measure(maxBatch: number): Promise<Round[]> {
  const config = loadConfig({
    EDGELM_MODELS_DIR:
      process.env.EDGELM_MODELS_DIR ??
      resolve(fileURLToPath(import.meta.url), '../../../../../shared/models'),
    PORT: '0',
    EDGELM_BACKEND: 'cpu',
    EDGELM_MAX_BATCH: String(maxBatch),
  });
  const server = await startServer(config, { log: () => {} });
  try {
    const all = prompts(CONCURRENT);
    await fireConcurrent(server.url, all.slice(0, 4), 8); // warm-up: JIT, first allocations
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const { outcomes, wallMs } = await fireConcurrent(server.url, all, MAX_TOKENS);
      const ttfts = outcomes.map((o) => o.ttftMs);
      const tokens = outcomes.reduce((n, o) => n + o.tokens, 0);
      rounds.push({
        ttftP50: percentile(ttfts, 50),
        ttftP95: percentile(ttfts, 95),
        tokensPerSecond: (tokens * 1000) / wallMs,
      });
    }
    return rounds;
  } finally {
    await server.close(1_000);
  }
}

export async function runServerLoadBench(): Promise<BenchFigure[]> {
  const off = await measure(1);
  const on = await measure(16);
  const med = (rs: Round[], k: keyof Round) =>
    summarize(
      '',
      '',
      rs.map((r) => r[k]),
    ).median;
  const figures: BenchFigure[] = [];
  for (const [label, rounds] of [
    ['batching off', off],
    ['batching on', on],
  ] as const) {
    const baseline = (k: keyof Round) => (rounds === on ? med(off, k) : undefined);
    figures.push(
      summarize(
        `TTFT p50, ${label}`,
        'ms',
        rounds.map((r) => r.ttftP50),
        baseline('ttftP50'),
      ),
      summarize(
        `TTFT p95, ${label}`,
        'ms',
        rounds.map((r) => r.ttftP95),
        baseline('ttftP95'),
      ),
      summarize(
        `throughput, ${label}`,
        'tokens/s',
        rounds.map((r) => r.tokensPerSecond),
        baseline('tokensPerSecond'),
      ),
    );
  }
  console.log(
    `${CONCURRENT} concurrent streams × ${MAX_TOKENS} tokens, stories260K on the CPU backend, ${ROUNDS} rounds`,
  );
  writeBench('server-load', figures);
  return figures;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await runServerLoadBench();
