// Files written by `edgelm convert` decoded by llama.cpp itself (wllama: llama.cpp in wasm) and
// by edgelm's CPU reference, greedily, from the same prompt. Imported by path: this page
// depends only on what it tests. wllama is a devDependency of the SDK, not of e2e.
import { Wllama } from '../../packages/sdk/node_modules/@wllama/wllama/esm/index.js';
import { bytesSource } from '../../packages/sdk/src/formats/byte-source.js';
import { type ConvertType, convertToGgufBytes } from '../../packages/sdk/src/formats/convert.js';
import { typeName } from '../../packages/sdk/src/formats/ggml-types.js';
import { openGguf } from '../../packages/sdk/src/formats/gguf/model.js';
import type { ModelFile } from '../../packages/sdk/src/model/model-file.js';
import { ReferenceModel } from '../../packages/sdk/src/reference/forward.js';
import { syntheticModel } from '../../packages/sdk/src/synth/synthetic-model.js';
import { Tokenizer } from '../../packages/sdk/src/tokenizer/tokenizer.js';

export interface WllamaConvertResult {
  /** Tensors per type in the converted file, e.g. { Q4_K: 30, Q6_K: 6, F32: 11 }. */
  mix: Record<string, number>;
  fileType: number;
  bytes: number;
  /** Greedy continuation by llama.cpp (wllama) and by edgelm's CPU reference. */
  llamaText: string;
  edgelmText: string;
}

declare global {
  interface Window {
    wllamaConvertCheck(
      source: 'wide' | 'stories15M',
      type: ConvertType,
      prompt: string,
      tokens: number,
    ): Promise<WllamaConvertResult>;
  }
}

async function sourceModel(source: 'wide' | 'stories15M'): Promise<ModelFile> {
  if (source === 'stories15M') return syntheticModel('stories15M', 7);
  const res = await fetch('/models/llamacpp/wide-F16.gguf');
  if (!res.ok) throw new Error(`wide-F16.gguf: HTTP ${res.status}`);
  return openGguf(bytesSource(new Uint8Array(await res.arrayBuffer()), 'wide-F16.gguf'));
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

window.wllamaConvertCheck = async (source, type, prompt, tokens) => {
  const gguf = await convertToGgufBytes(await sourceModel(source), type);
  const model = await openGguf(bytesSource(gguf, `${source}-${type}.gguf`));
  const mix: Record<string, number> = {};
  for (const t of model.tensors) mix[typeName(t.type)] = (mix[typeName(t.type)] ?? 0) + 1;

  const tok = new Tokenizer(model.tokenizer);
  const ids = tok.encode(prompt);
  const ref = await ReferenceModel.load(model, ids.length + tokens);
  let logits: Float32Array = new Float32Array(0);
  for (let p = 0; p < ids.length; p++) logits = ref.forward(ids[p], p);
  const out: number[] = [];
  for (let i = 0; i < tokens; i++) {
    out.push(argmax(logits));
    if (i + 1 < tokens) logits = ref.forward(out[i], ids.length + i);
  }

  const wllama = new Wllama({ default: '/vendor/wllama/wllama.wasm' }, { suppressNativeLog: true });
  await wllama.loadModel([new Blob([gguf as Uint8Array<ArrayBuffer>])], {
    n_threads: 1,
    n_ctx: 256,
    n_batch: 512,
    n_gpu_layers: 0,
  });
  const r = await wllama.createCompletion({
    prompt,
    max_tokens: tokens,
    temperature: 0,
    ignore_eos: true,
  });
  await wllama.exit();
  return {
    mix,
    fileType: Number(model.metadata['general.file_type']),
    bytes: gguf.byteLength,
    llamaText: r.choices[0].text,
    edgelmText: tok.decode(out),
  };
};
