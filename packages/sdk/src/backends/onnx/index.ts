import { check, EdgeLMError } from '../../errors.js';
import { modelConfigFromJson, OnnxFiles, tokenizerFromJson } from '../../formats/onnx/onnx-config.js';
import type { ModelConfig } from '../../model/config.js';
import type { TokenizerData } from '../../tokenizer/tokenizer-data.js';
import { OnnxBackend, type OnnxBackendOptions, type OnnxModelSource } from './onnx-backend.js';

export { OnnxBackend, type OnnxBackendOptions, type OnnxModelSource } from './onnx-backend.js';
export type { OrtExecutionProvider, OrtWasmPaths } from './ort-runtime.js';

/** An exported model directory, read: the decoder bytes, its shape and its tokenizer. */
export interface OnnxModel extends OnnxModelSource {
  tokenizer: TokenizerData;
}

/**
 * Fetches `model.onnx`, `config.json` and `tokenizer-data.json` from a directory URL (as written by
 * `edgelm export-onnx`).
 *
 * @example
 * ```ts
 * const onnx = await loadOnnxModel('/models/stories260K-onnx/');
 * const backend = await createOnnxBackend(onnx, { executionProviders: ['wasm'] });
 * ```
 */
export async function loadOnnxModel(baseUrl: string, init?: { fetch?: typeof fetch }): Promise<OnnxModel> {
  const doFetch = init?.fetch ?? globalThis.fetch.bind(globalThis);
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (name: string): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(`${base}${name}`);
    } catch (e) {
      throw new EdgeLMError('NETWORK', `Cannot fetch ${base}${name}`, { url: `${base}${name}` }, e);
    }
    if (res.status === 404)
      throw new EdgeLMError('NOT_FOUND', `${base}${name} was not found`, { url: base + name });
    check(res.ok, 'NETWORK', `${base}${name} answered ${res.status}`, { status: res.status });
    return res;
  };
  const [model, config, tokenizer] = await Promise.all([
    get(OnnxFiles.model).then(async (r) => new Uint8Array(await r.arrayBuffer())),
    get(OnnxFiles.config).then((r) => r.json() as Promise<unknown>),
    get(OnnxFiles.tokenizer).then((r) => r.json() as Promise<unknown>),
  ]);
  return { model, config: modelConfigFromJson(config), tokenizer: tokenizerFromJson(tokenizer) };
}

/**
 * Starts the `'onnx'` backend: onnxruntime-web on WebGPU where the page has it, else wasm.
 *
 * @example
 * ```ts
 * const { model } = await exportOnnx(modelFile, { weights: 'int4' });
 * const backend = await createOnnxBackend({ model, config: modelFile.config });
 * ```
 */
export function createOnnxBackend(
  source: OnnxModelSource,
  options?: OnnxBackendOptions,
): Promise<OnnxBackend> {
  return OnnxBackend.create(source, options);
}

/** The decoder's shape, for callers holding only a `config.json`. */
export function onnxModelConfig(configJson: unknown): ModelConfig {
  return modelConfigFromJson(configJson);
}
