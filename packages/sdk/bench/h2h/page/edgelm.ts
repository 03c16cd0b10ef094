// edgelm as an app uses it: `createEngine` on the GGUF (WebGPU or the WASM CPU backend) or on the
// ONNX export folder (edgelm's onnxruntime-web adapter), greedy `generate`, the engine's own
// timings. Prefix and response caches are off so every run prefills and decodes in full.
import { createEngine } from '../../../src/engine/create-engine.js';
import type { H2hResult, H2hSpec } from '../spec.js';

export async function runEdgelm(spec: H2hSpec): Promise<H2hResult> {
  const onnx = spec.engine === 'edgelm-onnx-webgpu' || spec.engine === 'edgelm-onnx-wasm';
  const engine = await createEngine({
    model: onnx ? `/harness/models/${spec.model}/` : `/harness/models/${spec.model}.gguf`,
    backend: onnx ? 'onnx' : spec.engine === 'edgelm-webgpu' ? 'webgpu' : 'cpu',
    worker: false,
    maxBatch: 1,
    prefixCacheBytes: 0,
    responseCache: false,
    kv: { pageSize: 16 },
    onnx: onnx
      ? {
          executionProviders: [spec.engine === 'edgelm-onnx-webgpu' ? 'webgpu' : 'wasm'],
          wasmPaths: '/vendor/onnxruntime-web/',
          numThreads: spec.threads,
        }
      : undefined,
  });
  const info = await engine.info();
  const out: H2hResult = { prefill: [], decode: [], ttftMs: [], text: '', notes: `backend=${info.backend}` };
  for (let run = -1; run < spec.runs; run++) {
    const stream = engine.generate(spec.prompt, {
      maxTokens: run < 0 ? spec.warmupTokens : spec.maxTokens,
      temperature: 0,
      cache: false,
    });
    const r = await stream.result;
    if (run < 0) continue;
    out.prefill.push(r.timings.prefillTokensPerSecond);
    out.decode.push(r.timings.decodeTokensPerSecond);
    out.ttftMs.push(r.timings.ttftMs);
    out.tokens = r.tokens;
    out.text = r.text;
  }
  await engine.unload();
  return out;
}
