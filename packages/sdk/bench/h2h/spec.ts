/** The rows that run in the page; `llamacpp-native` runs in Node. */
export type H2hEngine =
  | 'edgelm-webgpu'
  | 'edgelm-cpu'
  | 'edgelm-onnx-webgpu'
  | 'edgelm-onnx-wasm'
  | 'ort-webgpu'
  | 'ort-wasm'
  | 'wllama'
  | 'wllama-stream'
  | 'tfjs-webgpu'
  | 'tfjs-wasm';

/** What the driver asks a page to run: the same prompt and token budget for every row. */
export interface H2hSpec {
  engine: H2hEngine;
  /** `/harness/models/<model>/` (HF + ONNX folder) and `/harness/models/<model>.gguf`. */
  model: string;
  prompt: string;
  /** The reference tokenizer's ids of `prompt` (BOS included), for rows that take ids, not text. */
  promptTokens: number[];
  eos: number;
  maxTokens: number;
  /** Counted runs; one uncounted warm-up of `warmupTokens` tokens comes first. */
  runs: number;
  warmupTokens: number;
  threads: number;
}

/** Per counted run: rates and TTFT; the output of the last run. */
export interface H2hResult {
  prefill: number[];
  decode: number[];
  ttftMs: number[];
  tokens?: number[];
  text: string;
  notes: string;
}

declare global {
  interface Window {
    h2hRun(spec: H2hSpec): Promise<H2hResult>;
  }
}

/** Rates of one greedy run from its timestamps: decode counts the tokens after the first. */
export function rates(promptLen: number, generated: number, startMs: number, firstMs: number, endMs: number) {
  const ttft = Math.max(1e-3, firstMs - startMs);
  return {
    ttftMs: ttft,
    prefill: (promptLen * 1000) / ttft,
    decode: generated > 1 ? ((generated - 1) * 1000) / Math.max(1e-3, endMs - firstMs) : 0,
  };
}
