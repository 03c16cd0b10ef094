// llama.cpp (wllama, single-threaded wasm) against edgelm's CPU reference on one architecture
// sample: llama.cpp decodes greedily and reports its top-8 log-probabilities per position; the
// reference is fed the same tokens and judged on its argmax and on those log-probabilities.
// Installed as a page by e2e/harness/llamacpp-arch.ts; imported by path, not the package index.
import { Wllama } from '@wllama/wllama';
import { bytesSource } from '../../src/formats/byte-source.js';
import { openModel } from '../../src/formats/open-model.js';
import { ReferenceModel } from '../../src/reference/forward.js';
import { type ArchSampleName, archSampleGguf, sampleTokenOfByte } from '../../src/synth/arch-gguf.js';

export interface LlamaCppArchResult {
  name: string;
  positions: number;
  /** Positions where the reference's argmax is llama.cpp's token. */
  sameTokens: number;
  /** Largest |logprob difference| over llama.cpp's top-8 tokens, every position (nats). */
  maxLogprobDiff: number;
  firstMismatch: number | null;
}

declare global {
  interface Window {
    llamacppArch: (name: ArchSampleName, decode: number) => Promise<LlamaCppArchResult>;
  }
}

/** Byte text without spaces: one byte token per character in llama.cpp and in edgelm. */
const PROMPT = 'Thecatsat.Hello,World!Onceatime';
/** </s>, <|end|>, <|endoftext|>: ignore_eos biases them to -inf in llama.cpp, so they are skipped here. */
const EOG = new Set([2, 8, 9]);

type Entry = { id: number; logprob: number; top_logprobs: { id: number; logprob: number }[] };

async function llamacpp(bytes: Uint8Array, decode: number): Promise<Entry[]> {
  const wllama = new Wllama({ default: '/vendor/wllama/wllama.wasm' }, { suppressNativeLog: true });
  await wllama.loadModel([new Blob([bytes as Uint8Array<ArrayBuffer>])], {
    n_threads: 1,
    n_ctx: 128,
    n_batch: 64,
    n_gpu_layers: 0,
  });
  const res = await wllama.createCompletion({
    prompt: PROMPT,
    max_tokens: decode,
    temperature: 0,
    logprobs: 8,
    ignore_eos: true,
    stream: false,
  });
  await wllama.exit();
  // llama-server's logprobs: { content: [{ id, logprob, top_logprobs: [{ id, logprob }] }] }.
  return (res.choices[0]!.logprobs as unknown as { content: Entry[] }).content;
}

window.llamacppArch = async (name, decode) => {
  const bytes = await archSampleGguf(name);
  const steps = await llamacpp(bytes, decode);
  const model = await openModel(bytesSource(bytes, `${name}.gguf`));
  const ref = await ReferenceModel.load(model, 128);
  const ids = [1, ...[...PROMPT].map((ch) => sampleTokenOfByte(ch.charCodeAt(0)))];
  let logits: Float32Array = new Float32Array(0);
  ids.forEach((t, i) => {
    logits = ref.forward(t, i);
  });
  let sameTokens = 0;
  let maxLogprobDiff = 0;
  let firstMismatch: number | null = null;
  steps.forEach((step, i) => {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const logZ = max + Math.log(sum);
    for (const t of step.top_logprobs) {
      maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(logits[t.id]! - logZ - t.logprob));
    }
    let best = 3;
    for (let v = 3; v < logits.length; v++) if (!EOG.has(v) && logits[v]! > logits[best]!) best = v;
    if (best === step.id) sameTokens++;
    else firstMismatch ??= i;
    // Continue from llama.cpp's token, so one near-tie does not derail the rest.
    logits = ref.forward(step.id, ids.length + i);
  });
  return { name, positions: steps.length, sameTokens, maxLogprobDiff, firstMismatch };
};
