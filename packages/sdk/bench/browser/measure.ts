import type { Backend } from '../../src/backends/backend.js';
import { EdgeLMError } from '../../src/errors.js';

/** What the driver asks one page to measure. */
export interface CompareSpec {
  engine: 'ort-webgpu' | 'ort-wasm' | 'wllama' | 'edgelm-webgpu' | 'edgelm-cpu' | 'reference';
  /** Data files under /harness/data/: `<model>.onnx`, `<model>.gguf`. */
  model: string;
  threads: number;
  prompt: number;
  decode: number;
  runs: number;
  /** Sampling temperature of the rows that decode through an engine (default 0, greedy). */
  temperature?: number;
  /** Engine rows: one token per step (no multi-step decode), the per-token round trip. */
  singleStep?: boolean;
  /** edgelm rows: the backend's own `forward` loop (logits read back per token), not the engine. */
  rawForward?: boolean;
  /** edgelm WebGPU rows: float arithmetic (f32 KV cache and inputs) instead of llama.cpp's default. */
  floatArithmetic?: boolean;
}

/** Per run: prefill and decode rates, time to first token. */
export interface CompareResult {
  prefill: number[];
  decode: number[];
  ttftMs: number[];
  /** Sampled edgelm rows: the decode rate of a greedy run timed right before each of the row's. */
  pairedGreedyDecode?: number[];
  /** Anything the engine reports about itself (execution provider, dispatches per token). */
  notes: string;
}

declare global {
  interface Window {
    compareRun(spec: CompareSpec): Promise<CompareResult>;
  }
}

/** Deterministic prompt tokens, away from the control tokens at the start of every vocabulary. */
export function promptTokens(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((i * 37) % Math.min(200, vocab - 3)));
}

/**
 * Prefill of `prompt` tokens (its time is the TTFT: the first token's logits come with it), then
 * `decode` single-token steps, on fresh pages each run so no run reuses another's KV.
 */
export async function measureBackend(backend: Backend, spec: CompareSpec): Promise<CompareResult> {
  const out: CompareResult = { prefill: [], decode: [], ttftMs: [], notes: '' };
  const perRun = Math.ceil((spec.prompt + spec.decode) / backend.pageSize);
  const tokens = promptTokens(spec.prompt, backend.config.vocabSize);
  // One warm-up run compiles pipelines and sizes allocations; it is not counted.
  for (let run = -1; run < spec.runs; run++) {
    const first = ((run + 1) % 2) * perRun;
    const pages = Int32Array.from({ length: perRun }, (_, i) => first + i);
    let t0 = performance.now();
    await backend.forward([{ tokens, startPos: 0, pages }]);
    const prefillMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < spec.decode; i++) {
      await backend.forward([{ tokens: [5 + (i % 100)], startPos: spec.prompt + i, pages }]);
    }
    const decodeMs = performance.now() - t0;
    if (run < 0) continue;
    out.ttftMs.push(prefillMs);
    out.prefill.push((spec.prompt * 1000) / prefillMs);
    out.decode.push((spec.decode * 1000) / decodeMs);
  }
  return out;
}

export async function fetchBytes(path: string): Promise<Uint8Array> {
  const res = await fetch(path);
  if (!res.ok) throw new EdgeLMError('NETWORK', `${path} answered ${res.status}`, { status: res.status });
  return new Uint8Array(await res.arrayBuffer());
}
