// What a new user writes: the SDK from its published tarball, nothing but the root entry, and
// the bundler left to find the worker and onnxruntime-web's wasm on its own.
import { createEngine, isEdgeLMError } from '@edgelm/sdk';

const output = document.getElementById('output');
const url = (path) => new URL(path, location.href).href;

/** Loads stories260K on `backend`, generates greedily, reports what ran it. */
async function run(backend) {
  const onnx = backend === 'onnx';
  const engine = await createEngine({
    model: onnx ? url('/models/onnx/') : url('/models/stories260K.bin'),
    tokenizer: onnx ? undefined : url('/models/tok512.bin'),
    backend,
    // onnxruntime-web's WebGPU provider is slow on a CPU-emulated GPU (SwiftShader in CI); its
    // own e2e spec covers it, this app only needs the runtime to be found and to run.
    onnx: { executionProviders: ['wasm'] },
  });
  try {
    const stream = engine.generate('Once upon a time', { maxTokens: 12, temperature: 0 });
    let text = '';
    for await (const chunk of stream) text += chunk.text;
    output.textContent += text;
    const result = await stream.result;
    return { ok: true, text, resultText: result.text, backend: (await engine.info()).backend };
  } finally {
    await engine.unload();
  }
}

/** A worker whose script cannot load: createEngine must reject with a typed error, not hang. */
async function brokenWorker() {
  const started = performance.now();
  try {
    await createEngine({
      model: url('/models/stories260K.bin'),
      tokenizer: url('/models/tok512.bin'),
      worker: new Worker(url('/no-such-worker.js'), { type: 'module' }),
    });
    return { ok: true, ms: performance.now() - started };
  } catch (e) {
    return { ok: false, code: isEdgeLMError(e) ? e.code : String(e), ms: performance.now() - started };
  }
}

const errorOf = (e) => ({ ok: false, code: isEdgeLMError(e) ? e.code : 'UNTYPED', message: String(e) });
window.consumer = {
  run: (backend) => run(backend).catch(errorOf),
  brokenWorker,
};
window.consumerReady = true;
