// onnxruntime-web as its own docs use it for a decoder with past KV: one InferenceSession, a
// greedy loop over `session.run`, present.* fed back as past_key_values.*. On WebGPU the present
// outputs stay GPU buffers (`preferredOutputLocation: 'gpu-buffer'`, IO binding) and only the
// logits come back. No edgelm code runs in this row.
import * as ort from 'onnxruntime-web';
import { type H2hResult, type H2hSpec, rates } from '../spec.js';

interface HfConfig {
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
}

const int64 = (xs: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), dims);

function argmaxLast(logits: ort.Tensor, vocab: number): number {
  const data = logits.data as Float32Array;
  const off = data.length - vocab;
  let best = 0;
  for (let i = 1; i < vocab; i++) if (data[off + i]! > data[off + best]!) best = i;
  return best;
}

export async function runOrtPlain(spec: H2hSpec): Promise<H2hResult> {
  const gpu = spec.engine === 'ort-webgpu';
  ort.env.wasm.wasmPaths = '/vendor/onnxruntime-web/';
  ort.env.wasm.numThreads = spec.threads;
  const dir = `/harness/models/${spec.model}/`;
  const cfg = (await (await fetch(`${dir}config.json`)).json()) as HfConfig;
  const layers = Array.from({ length: cfg.num_hidden_layers }, (_, l) => l);
  const present = layers.flatMap((l) => [`present.${l}.key`, `present.${l}.value`]);
  const session = await ort.InferenceSession.create(`${dir}onnx/model.onnx`, {
    executionProviders: [gpu ? 'webgpu' : 'wasm'],
    graphOptimizationLevel: 'all',
    preferredOutputLocation: gpu
      ? Object.fromEntries([['logits', 'cpu'], ...present.map((n) => [n, 'gpu-buffer'])])
      : undefined,
  });
  const out: H2hResult = {
    prefill: [],
    decode: [],
    ttftMs: [],
    text: '',
    notes: `ep=${gpu ? 'webgpu' : 'wasm'}`,
  };
  for (let run = -1; run < spec.runs; run++) {
    const budget = run < 0 ? spec.warmupTokens : spec.maxTokens;
    const emptyPast = new Float32Array(0);
    let past: Record<string, ort.Tensor> = {};
    for (const l of layers) {
      const dims = [1, cfg.num_key_value_heads, 0, cfg.head_dim];
      past[`past_key_values.${l}.key`] = new ort.Tensor('float32', emptyPast, dims);
      past[`past_key_values.${l}.value`] = new ort.Tensor('float32', emptyPast, dims);
    }
    const tokens: number[] = [];
    let ids = spec.promptTokens;
    let pos = 0;
    const start = performance.now();
    let first = start;
    while (tokens.length < budget) {
      const outputs = await session.run({
        input_ids: int64(ids, [1, ids.length]),
        attention_mask: int64(new Array(pos + ids.length).fill(1), [1, pos + ids.length]),
        position_ids: int64(
          ids.map((_, i) => pos + i),
          [1, ids.length],
        ),
        ...past,
      });
      const next = argmaxLast(outputs.logits!, cfg.vocab_size);
      outputs.logits!.dispose();
      if (pos > 0) for (const t of Object.values(past)) t.dispose();
      past = {};
      for (const l of layers) {
        past[`past_key_values.${l}.key`] = outputs[`present.${l}.key`]!;
        past[`past_key_values.${l}.value`] = outputs[`present.${l}.value`]!;
      }
      if (pos === 0) first = performance.now();
      pos += ids.length;
      if (next === spec.eos) break;
      tokens.push(next);
      ids = [next];
    }
    const end = performance.now();
    for (const t of Object.values(past)) t.dispose();
    if (run < 0) continue;
    const r = rates(spec.promptTokens.length, tokens.length, start, first, end);
    out.prefill.push(r.prefill);
    out.decode.push(r.decode);
    out.ttftMs.push(r.ttftMs);
    out.tokens = tokens;
  }
  await session.release();
  return out;
}
