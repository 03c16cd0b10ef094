// The comparison page: every engine but edgelm's WebGPU backend (which has its own entry, built
// only once that backend exists). The driver opens a fresh page per row, since onnxruntime-web's
// and wllama's settings (threads, wasm paths) are global to a page.
import { Wllama } from '@wllama/wllama';
import { createOnnxBackend } from '../../../src/backends/onnx/index.js';
import { selectBackend } from '../../../src/engine/load/select-backend.js';
import { EdgeLMError } from '../../../src/errors.js';
import { bytesSource } from '../../../src/formats/byte-source.js';
import { openGguf } from '../../../src/formats/gguf/model.js';
import { ReferenceModel } from '../../../src/reference/forward.js';
import { Tokenizer } from '../../../src/tokenizer/tokenizer.js';
import {
  type CompareResult,
  type CompareSpec,
  fetchBytes,
  measureBackend,
  promptTokens,
} from '../measure.js';

async function ggufModel(spec: CompareSpec) {
  return openGguf(bytesSource(await fetchBytes(`/harness/data/${spec.model}.gguf`), `${spec.model}.gguf`));
}

async function runOrt(spec: CompareSpec): Promise<CompareResult> {
  const model = await ggufModel(spec);
  const backend = await createOnnxBackend(
    { model: await fetchBytes(`/harness/data/${spec.model}.onnx`), config: model.config },
    {
      executionProviders: [spec.engine === 'ort-webgpu' ? 'webgpu' : 'wasm'],
      wasmPaths: '/vendor/onnxruntime-web/',
      numThreads: spec.threads,
      pageSize: 16,
      pageCount: 2 * Math.ceil((spec.prompt + spec.decode) / 16),
    },
  );
  const res = await measureBackend(backend, spec);
  res.notes = `ep=${backend.executionProvider}`;
  backend.dispose();
  return res;
}

/** The CPU path exactly as the engine builds it when 'auto' finds no WebGPU adapter. */
async function runCpu(spec: CompareSpec): Promise<CompareResult> {
  const model = await ggufModel(spec);
  const backend = await selectBackend(model, { backend: 'cpu', kv: { pageSize: 16 }, maxBatch: 1 });
  const res = await measureBackend(backend, spec);
  backend.dispose();
  return res;
}

/** The reference runs one token at a time, so its prefill is `prompt` single steps. */
async function runReference(spec: CompareSpec): Promise<CompareResult> {
  const model = await ggufModel(spec);
  const ref = await ReferenceModel.load(model, spec.prompt + spec.decode);
  const out: CompareResult = { prefill: [], decode: [], ttftMs: [], notes: '' };
  const tokens = promptTokens(spec.prompt, model.config.vocabSize);
  for (let run = -1; run < spec.runs; run++) {
    let t0 = performance.now();
    for (let p = 0; p < tokens.length; p++) ref.forward(tokens[p], p);
    const prefillMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < spec.decode; i++) ref.forward(5 + (i % 100), spec.prompt + i);
    const decodeMs = performance.now() - t0;
    if (run < 0) continue;
    out.ttftMs.push(prefillMs);
    out.prefill.push((spec.prompt * 1000) / prefillMs);
    out.decode.push((spec.decode * 1000) / decodeMs);
  }
  return out;
}

/**
 * llama.cpp reports its own prompt and generation rates; TTFT is measured here, from the request to
 * the first streamed token. The prompt cache is off so every run prefills the whole prompt.
 */
async function runWllama(spec: CompareSpec): Promise<CompareResult> {
  const gguf = await fetchBytes(`/harness/data/${spec.model}.gguf`);
  const model = await openGguf(bytesSource(gguf));
  const text = new Tokenizer(model.tokenizer).decode(promptTokens(spec.prompt, model.config.vocabSize));
  const wllama = new Wllama({ default: '/vendor/wllama/wllama.wasm' }, { suppressNativeLog: true });
  await wllama.loadModel([new Blob([gguf as Uint8Array<ArrayBuffer>])], {
    n_threads: spec.threads,
    n_ctx: Math.max(256, spec.prompt + spec.decode + 16),
    n_batch: 512,
    n_gpu_layers: 0,
  });
  const out: CompareResult = {
    prefill: [],
    decode: [],
    ttftMs: [],
    notes: `threads=${wllama.getNumThreads()} multithread=${wllama.isMultithread()}`,
  };
  for (let run = -1; run < spec.runs; run++) {
    let firstAt = 0;
    let timings:
      | { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number }
      | undefined;
    const t0 = performance.now();
    const params = {
      prompt: text,
      max_tokens: spec.decode,
      temperature: 0,
      ignore_eos: true,
      cache_prompt: false,
      stream: true as const,
      onData: (chunk: { timings?: typeof timings }) => {
        if (!firstAt) firstAt = performance.now();
        if (chunk.timings) timings = chunk.timings;
      },
    };
    await wllama.createCompletion(params);
    if (run < 0) continue;
    if (!timings) throw new EdgeLMError('INTERNAL', 'wllama reported no timings');
    out.ttftMs.push(firstAt - t0);
    out.prefill.push((timings.prompt_n * 1000) / timings.prompt_ms);
    out.decode.push((timings.predicted_n * 1000) / timings.predicted_ms);
  }
  await wllama.exit();
  return out;
}

window.compareRun = async (spec) => {
  switch (spec.engine) {
    case 'ort-webgpu':
    case 'ort-wasm':
      return runOrt(spec);
    case 'edgelm-cpu':
      return runCpu(spec);
    case 'reference':
      return runReference(spec);
    case 'wllama':
      return runWllama(spec);
    default:
      throw new EdgeLMError('INVALID_ARGUMENT', `This page does not run ${spec.engine}`);
  }
};
