import type { Backend } from '../../backends/backend.js';
import { createOnnxBackend, loadOnnxModel, type OnnxBackendOptions } from '../../backends/onnx/index.js';
import { EdgeLMError } from '../../errors.js';
import type { ModelFile } from '../../model/model-file.js';

/** True for inputs that name an `edgelm export-onnx` directory (or its model.onnx). */
export function isOnnxInput(input: unknown): input is string | URL {
  if (typeof input !== 'string' && !(input instanceof URL)) return false;
  const s = String(input);
  return s.endsWith('.onnx') || s.endsWith('/');
}

/**
 * Loads an exported ONNX directory and starts the onnxruntime-web backend on it. The model
 * file carries config and tokenizer only: ONNX weights live in the graph the backend runs.
 */
export async function loadOnnxEngineParts(
  input: string | URL,
  options: OnnxBackendOptions & { fetch?: typeof fetch },
): Promise<{ model: ModelFile; backend: Backend; bytes: number }> {
  const dir = String(input).replace(/model\.onnx$/, '');
  const onnx = await loadOnnxModel(dir, { fetch: options.fetch });
  const backend = await createOnnxBackend(onnx, options);
  const model: ModelFile = {
    format: 'onnx',
    config: onnx.config,
    tokenizer: onnx.tokenizer,
    metadata: { 'general.name': dir.replace(/\/$/, '').split('/').pop() ?? 'onnx' },
    tensors: [],
    readTensor: async () => {
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        'ONNX models are run by the onnx backend, not read tensor by tensor',
      );
    },
  };
  return { model, backend, bytes: onnx.model.byteLength };
}
