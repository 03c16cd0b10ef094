// llama.cpp native, as the baseline row of the CPU benchmarks: node-llama-cpp 3.21.1 (the build
// that made $EDGELM_MODELS_DIR/llamacpp/expected.json) with its linux-x64 CPU binaries, installed
// on demand into the gitignored bench-peers/ at the repo root, never by `pnpm install` or CI.
// Only the npm registry is used: no GPU packages (--omit=optional), no postinstall (it may try
// to download or build), and getLlama is told never to build and never to download.
//
//   const r = await runNodeLlamaCpp({ modelPath, prompt: 'Once upon a time', maxTokens: 32 });
//   if ('skipped' in r) console.log(r.skipped); else console.log(r.decodeTokensPerSecond);

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface NativeRunOptions {
  modelPath: string;
  prompt: string;
  maxTokens: number;
  threads?: number;
  runs?: number;
}

export interface NativeRunResult {
  decodeTokensPerSecond: number[];
  prefillTokensPerSecond: number[];
  text: string;
  tokens: number[];
}

const VERSION = '3.21.1';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The folder node-llama-cpp is installed into (gitignored). */
export const PEERS_DIR = join(ROOT, 'bench-peers');
const PKG = join(PEERS_DIR, 'node_modules/node-llama-cpp');

/** The subset of node-llama-cpp's API this file calls (its types live in the optional install). */
interface Nlc {
  getLlama(o: Record<string, unknown>): Promise<Llama>;
}
interface Llama {
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<Model>;
  dispose(): Promise<void>;
}
interface Model {
  tokens: { bos: number | null };
  tokenize(text: string): number[];
  detokenize(tokens: readonly number[]): string;
  createContext(o: Record<string, unknown>): Promise<Context>;
  dispose(): Promise<void>;
}
interface Context {
  getSequence(): Sequence;
  dispose(): Promise<void>;
}
interface Sequence {
  clearHistory(): Promise<void>;
  evaluate(tokens: number[], o: { temperature: number }): AsyncGenerator<number, void, void>;
}

function installedVersion(): string | undefined {
  try {
    return JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Installs node-llama-cpp + its CPU binary once; returns why not where it cannot. */
function ensureInstalled(): string | undefined {
  if (platform() !== 'linux' || arch() !== 'x64')
    return `no prebuilt CPU binary picked for ${platform()}-${arch()}`;
  if (installedVersion() === VERSION && existsSync(join(PEERS_DIR, 'node_modules/@node-llama-cpp/linux-x64')))
    return undefined;
  mkdirSync(PEERS_DIR, { recursive: true });
  try {
    execFileSync(
      'npm',
      [
        'i',
        '--prefix',
        PEERS_DIR,
        '--no-save',
        '--omit=optional',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        `node-llama-cpp@${VERSION}`,
        `@node-llama-cpp/linux-x64@${VERSION}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 600_000,
        env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
      },
    );
  } catch (e) {
    return `npm could not install node-llama-cpp@${VERSION}: ${String((e as Error).message).split('\n')[0]}`;
  }
  return installedVersion() === VERSION ? undefined : 'node-llama-cpp did not install';
}

/**
 * Greedy decoding of `prompt` (BOS first, as llama.cpp's completion does) for `maxTokens`
 * tokens on llama.cpp's CPU backend, `threads` threads (default 1), `runs` times (default 3)
 * on one loaded model; per run, prefill tok/s (prompt evaluation up to the first token) and
 * decode tok/s (the tokens after it). Resolves to `{ skipped: reason }` when node-llama-cpp
 * cannot be installed or loaded here.
 */
export async function runNodeLlamaCpp(o: NativeRunOptions): Promise<NativeRunResult | { skipped: string }> {
  const why = ensureInstalled();
  if (why) return { skipped: why };
  let nlc: Nlc;
  try {
    nlc = (await import(pathToFileURL(join(PKG, 'dist/index.js')).href)) as Nlc;
  } catch (e) {
    return { skipped: `node-llama-cpp does not load: ${(e as Error).message}` };
  }
  const threads = o.threads ?? 1;
  let llama: Llama;
  try {
    llama = await nlc.getLlama({
      gpu: false,
      build: 'never',
      usePrebuiltBinaries: true,
      skipDownload: true,
      progressLogs: false,
      logLevel: 'error',
      maxThreads: threads,
    });
  } catch (e) {
    return { skipped: `no usable llama.cpp binary: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    const model = await llama.loadModel({ modelPath: o.modelPath, gpuLayers: 0 });
    const bos = model.tokens.bos;
    const prompt = [...(bos === null ? [] : [bos]), ...model.tokenize(o.prompt)];
    const context = await model.createContext({
      contextSize: prompt.length + o.maxTokens + 16,
      batchSize: Math.max(prompt.length, 32),
      threads,
    });
    const sequence = context.getSequence();
    const result: NativeRunResult = {
      decodeTokensPerSecond: [],
      prefillTokensPerSecond: [],
      text: '',
      tokens: [],
    };
    for (let r = 0; r < (o.runs ?? 3); r++) {
      await sequence.clearHistory();
      const tokens: number[] = [];
      const t0 = performance.now();
      let first = t0;
      for await (const t of sequence.evaluate(prompt, { temperature: 0 })) {
        if (tokens.length === 0) first = performance.now();
        tokens.push(t);
        if (tokens.length >= o.maxTokens) break;
      }
      const end = performance.now();
      result.prefillTokensPerSecond.push((prompt.length * 1000) / (first - t0));
      result.decodeTokensPerSecond.push(((tokens.length - 1) * 1000) / (end - first));
      result.tokens = tokens;
    }
    result.text = model.detokenize(result.tokens);
    await context.dispose();
    await model.dispose();
    return result;
  } finally {
    await llama.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [modelPath, prompt = 'Once upon a time', n = '32'] = process.argv.slice(2);
  if (!modelPath) throw new Error('usage: node-llama-cpp.ts <model.gguf> [prompt] [maxTokens]');
  console.log(JSON.stringify(await runNodeLlamaCpp({ modelPath, prompt, maxTokens: Number(n) })));
}
