// transformers.js as its docs use it: `pipeline('text-generation', <local model folder>,
// { device, dtype })`, greedy, served from this page's origin only (no hub, no CDN). Bundled from
// the on-demand install under bench-peers/, never from the workspace's dependencies.
import { BaseStreamer, env, pipeline } from '@huggingface/transformers';
import { type H2hResult, type H2hSpec, rates } from '../spec.js';

/** Records when each generated token arrives (and which), nothing else: the pipeline itself stays non-streaming in spirit. */
class Clock extends BaseStreamer {
  prompt = true;
  times: number[] = [];
  tokens: number[] = [];
  override put(value: bigint[][]): void {
    if (this.prompt) {
      this.prompt = false;
      return;
    }
    this.times.push(performance.now());
    this.tokens.push(Number(value[0]![0]));
  }
  override end(): void {}
}

async function run(spec: H2hSpec): Promise<H2hResult> {
  const device = spec.engine === 'tfjs-webgpu' ? 'webgpu' : 'wasm';
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '/harness/models/';
  env.useBrowserCache = false;
  env.useWasmCache = false;
  const onnxEnv = env.backends.onnx as { wasm: { wasmPaths: unknown; numThreads: number } };
  onnxEnv.wasm.wasmPaths = {
    mjs: '/harness/peer-ort/ort-wasm-simd-threaded.asyncify.mjs',
    wasm: '/harness/peer-ort/ort-wasm-simd-threaded.asyncify.wasm',
  };
  onnxEnv.wasm.numThreads = spec.threads;
  const generator = await pipeline('text-generation', spec.model, { device, dtype: 'fp32' });
  const out: H2hResult = { prefill: [], decode: [], ttftMs: [], text: '', notes: `device=${device}` };
  for (let run = -1; run < spec.runs; run++) {
    const clock = new Clock();
    const t0 = performance.now();
    const res = (await generator(spec.prompt, {
      max_new_tokens: run < 0 ? spec.warmupTokens : spec.maxTokens,
      do_sample: false,
      return_full_text: false,
      streamer: clock,
    })) as { generated_text: string }[];
    const end = performance.now();
    if (run < 0) continue;
    // transformers.js keeps the EOS it stopped on; the reference (and every other row) does not.
    const tokens = clock.tokens.at(-1) === spec.eos ? clock.tokens.slice(0, -1) : clock.tokens;
    const r = rates(
      spec.promptTokens.length,
      clock.times.length,
      t0,
      clock.times[0] ?? end,
      clock.times.at(-1) ?? end,
    );
    out.prefill.push(r.prefill);
    out.decode.push(r.decode);
    out.ttftMs.push(r.ttftMs);
    out.tokens = tokens;
    out.text = res[0]?.generated_text ?? '';
  }
  await generator.dispose();
  return out;
}

window.h2hRun = run;
