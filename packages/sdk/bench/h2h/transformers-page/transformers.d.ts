// The slice of @huggingface/transformers this page uses. The package is installed on demand
// into bench-peers/ (it is too heavy for the workspace install), so the typechecker never sees its
// own types; the page's bundle does resolve the real module.
declare module '@huggingface/transformers' {
  export const env: {
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    useBrowserCache: boolean;
    useWasmCache: boolean;
    backends: { onnx: unknown };
  };
  export class BaseStreamer {
    put(value: bigint[][]): void;
    end(): void;
  }
  export interface TextGenerationPipeline {
    (text: string, options: Record<string, unknown>): Promise<unknown>;
    dispose(): Promise<void>;
  }
  export function pipeline(
    task: 'text-generation',
    model: string,
    options: { device: 'webgpu' | 'wasm'; dtype: 'fp32' },
  ): Promise<TextGenerationPipeline>;
}
