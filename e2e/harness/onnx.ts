// Imported by path, not through the package index, so this page depends only on what it tests.
import { createOnnxBackend } from '../../packages/sdk/src/backends/onnx/index.js';
import { urlSource } from '../../packages/sdk/src/formats/byte-source.js';
import { openLlama2c } from '../../packages/sdk/src/formats/llama2c/index.js';
import { exportOnnx } from '../../packages/sdk/src/formats/onnx/export.js';
import { ReferenceModel } from '../../packages/sdk/src/reference/forward.js';
import { Tokenizer } from '../../packages/sdk/src/tokenizer/tokenizer.js';

/** What one check reports back to the spec. */
export interface OnnxCheckResult {
  executionProvider: string;
  /** Largest |onnx − reference| over every logit of every step. */
  maxDiff: number;
  text: string;
  referenceText: string;
  steps: number;
}

declare global {
  interface Window {
    onnxCheck(ep: 'wasm' | 'webgpu', steps: number): Promise<OnnxCheckResult>;
  }
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Exports stories260K to ONNX in the page, runs it on one onnxruntime-web execution provider and
 * decodes greedily beside the CPU reference, which is fed its own choices so the two texts are
 * independent.
 */
window.onnxCheck = async (ep, steps) => {
  const model = await openLlama2c(
    await urlSource('/models/stories260K.bin'),
    await urlSource('/models/tok512.bin'),
  );
  const { model: bytes } = await exportOnnx(model, { weights: 'f32' });
  const backend = await createOnnxBackend(
    { model: bytes, config: model.config },
    { executionProviders: [ep], wasmPaths: '/vendor/onnxruntime-web/', pageSize: 16, pageCount: 16 },
  );
  const tok = new Tokenizer(model.tokenizer);
  const ref = await ReferenceModel.load(model, 256);
  const prompt = tok.encode('Once upon a time');
  const pages = Int32Array.from({ length: 16 }, (_, i) => i);
  let refLogits = new Float32Array(0);
  for (let p = 0; p < prompt.length; p++) refLogits = ref.forward(prompt[p], p).slice();
  let [logits] = await backend.forward([{ tokens: prompt, startPos: 0, pages }]);
  const out: number[] = [];
  const refOut: number[] = [];
  let maxDiff = 0;
  let pos = prompt.length;
  for (let i = 0; i < steps; i++, pos++) {
    for (let v = 0; v < logits.length; v++) maxDiff = Math.max(maxDiff, Math.abs(logits[v] - refLogits[v]));
    const next = argmax(logits);
    const refNext = argmax(refLogits);
    out.push(next);
    refOut.push(refNext);
    if (next === tok.eos || refNext === tok.eos) break;
    refLogits = ref.forward(refNext, pos).slice();
    [logits] = await backend.forward([{ tokens: [next], startPos: pos, pages }]);
  }
  const result = {
    executionProvider: backend.executionProvider,
    maxDiff,
    text: tok.decode([...prompt, ...out]),
    referenceText: tok.decode([...prompt, ...refOut]),
    steps: out.length,
  };
  backend.dispose();
  return result;
};
