// wllama (llama.cpp in wasm) the two ways its guide shows `createCompletion`: one awaited call
// (non-streaming), and `stream: true` iterated chunk by chunk. Rates are llama.cpp's own timings;
// TTFT is llama.cpp's prompt time (non-streaming) or the first chunk's arrival (streaming).
import { Wllama } from '@wllama/wllama';
import { EdgeLMError } from '../../../src/errors.js';
import type { H2hResult, H2hSpec } from '../spec.js';

interface Timings {
  prompt_n: number;
  prompt_ms: number;
  predicted_n: number;
  predicted_ms: number;
}

export async function runWllama(spec: H2hSpec): Promise<H2hResult> {
  const streaming = spec.engine === 'wllama-stream';
  const gguf = await (await fetch(`/harness/models/${spec.model}.gguf`)).blob();
  const wllama = new Wllama({ default: '/vendor/wllama/wllama.wasm' }, { suppressNativeLog: true });
  await wllama.loadModel([gguf], {
    n_threads: spec.threads,
    n_ctx: Math.max(256, spec.promptTokens.length + spec.maxTokens + 16),
    n_batch: 512,
    n_gpu_layers: 0,
  });
  const out: H2hResult = {
    prefill: [],
    decode: [],
    ttftMs: [],
    text: '',
    notes: `threads=${wllama.getNumThreads()}${streaming ? ' streaming' : ''}`,
  };
  for (let run = -1; run < spec.runs; run++) {
    const params = {
      prompt: spec.prompt,
      max_tokens: run < 0 ? spec.warmupTokens : spec.maxTokens,
      temperature: 0,
      cache_prompt: false,
    };
    let text = '';
    let timings: Timings | undefined;
    let ttft = 0;
    const t0 = performance.now();
    if (streaming) {
      for await (const chunk of await wllama.createCompletion({ ...params, stream: true })) {
        if (!ttft) ttft = performance.now() - t0;
        text += chunk.choices[0]?.text ?? '';
        if (chunk.timings) timings = chunk.timings;
      }
    } else {
      const res = await wllama.createCompletion(params);
      text = res.choices[0]?.text ?? '';
      timings = res.timings;
    }
    if (run < 0) continue;
    if (!timings) throw new EdgeLMError('INTERNAL', 'wllama reported no timings');
    out.ttftMs.push(streaming ? ttft : timings.prompt_ms);
    out.prefill.push((timings.prompt_n * 1000) / timings.prompt_ms);
    out.decode.push((timings.predicted_n * 1000) / timings.predicted_ms);
    out.text = text;
  }
  await wllama.exit();
  return out;
}
