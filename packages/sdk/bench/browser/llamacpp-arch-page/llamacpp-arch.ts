// llama.cpp (wllama, single-threaded wasm) greedy-decoding an architecture sample with its top
// log-probabilities, for bench/llamacpp-arch.ts to compare with edgelm's reference.

import { Wllama } from '@wllama/wllama';

export interface LlamaCppRun {
  /** Per generated position: llama.cpp's token and its top tokens' log-probabilities. */
  steps: { id: number; top: [number, number][] }[];
  text: string;
}

declare global {
  interface Window {
    llamacppRun: (model: string, prompt: string, n: number) => Promise<LlamaCppRun>;
  }
}

window.llamacppRun = async (model, prompt, n) => {
  const bytes = await (await fetch(`/harness/data/${model}.gguf`)).arrayBuffer();
  const wllama = new Wllama({ default: '/vendor/wllama/wllama.wasm' }, { suppressNativeLog: true });
  await wllama.loadModel([new Blob([bytes])], { n_threads: 1, n_ctx: 128, n_batch: 64, n_gpu_layers: 0 });
  const res = await wllama.createCompletion({
    prompt,
    max_tokens: n,
    temperature: 0,
    logprobs: 8,
    ignore_eos: true,
    stream: false,
  });
  await wllama.exit();
  const choice = res.choices[0]!;
  // llama-server's logprobs: { content: [{ id, logprob, top_logprobs: [{ id, logprob }] }] }.
  type Entry = { id: number; logprob: number; top_logprobs: { id: number; logprob: number }[] };
  const content = (choice.logprobs as unknown as { content: Entry[] }).content;
  const steps = content.map((e) => ({
    id: e.id,
    top: e.top_logprobs.map((t) => [t.id, t.logprob] as [number, number]),
  }));
  return { steps, text: choice.text };
};
