import type { BackendName } from '../../backends/backend.js';
import { createLocalEngine } from '../../engine/create-local-engine.js';
import { fileSource } from '../../node/file-source.js';
import { resolveModelPath, siblingTokenizer } from '../resolve-model.js';

export interface GenerateArgs {
  model: string;
  tokenizer?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed?: number;
  topK?: number;
  topP?: number;
  backend: BackendName | 'auto';
}

/** `edgelm generate`: streams the prompt and its continuation to stdout, timings to stderr. */
export async function generate(
  a: GenerateArgs,
  write: (s: string) => void,
  log: (s: string) => void,
): Promise<void> {
  const path = await resolveModelPath(a.model);
  const tok = a.tokenizer ? await resolveModelPath(a.tokenizer) : await siblingTokenizer(path);
  const engine = await createLocalEngine({
    model: await fileSource(path),
    tokenizer: tok ? await fileSource(tok) : undefined,
    backend: a.backend,
    cacheWeights: false,
    maxBatch: 1,
  });
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  write(a.prompt);
  const stream = engine.generate(a.prompt, {
    maxTokens: a.maxTokens,
    temperature: a.temperature,
    seed: a.seed,
    topK: a.topK,
    topP: a.topP,
    signal: ac.signal,
  });
  for await (const chunk of stream) write(chunk.text);
  const r = await stream.result;
  process.off('SIGINT', onSigint);
  write('\n');
  const info = await engine.info();
  log(
    `[${info.backend}] ${r.usage.promptTokens} prompt + ${r.usage.completionTokens} tokens, ` +
      `TTFT ${r.timings.ttftMs.toFixed(1)} ms, decode ${r.timings.decodeTokensPerSecond.toFixed(1)} tok/s, finish: ${r.finishReason}`,
  );
  await engine.unload();
}
