import { check } from '../../errors.js';
import type { ModelFile } from '../../model/model-file.js';
import { loadWeights } from '../../reference/weights.js';
import { buildDecoderGraph, type OnnxWeightFormat } from './decoder-graph.js';
import { GraphBuilder } from './graph-builder.js';
import { type OnnxConfigJson, type TokenizerJson, tokenizerToJson, toOnnxConfigJson } from './onnx-config.js';
import { encodeModel } from './onnx-proto.js';

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Storage of the linear layers: float32 MatMul, or MatMulNBits with 8- or 4-bit blocks of 32. */
  weights: OnnxWeightFormat;
}

/** What an export produces: the three files of an ONNX model directory, in memory. */
export interface OnnxExport {
  /** `model.onnx`: the ModelProto bytes. */
  model: Uint8Array;
  /** `config.json` */
  config: OnnxConfigJson;
  /** `tokenizer-data.json` */
  tokenizer: TokenizerJson;
}

/** Opset 17 for LayerNorm-era ops; IR 8 is the IR version that opset ships with. */
const IR_VERSION = 8;
const OPSET = 17;

/**
 * Converts an opened model into an ONNX decoder with past key/values in the layout of Hugging
 * Face Optimum exports, runnable by onnxruntime (web, node, native). Weights of any stored type
 * are dequantized first; `int8`/`int4` then re-quantize the linear layers for `MatMulNBits`.
 *
 * @example
 * ```ts
 * const model = await openModel(bytesSource(bin), { tokenizer: bytesSource(tok) });
 * const { model: onnx, config } = await exportOnnx(model, { weights: 'int4' });
 * ```
 */
export async function exportOnnx(model: ModelFile, options: ExportOnnxOptions): Promise<OnnxExport> {
  const c = model.config;
  check(['f32', 'int8', 'int4'].includes(options.weights), 'INVALID_ARGUMENT', `Unknown ONNX weight format`, {
    weights: options.weights,
  });
  check(c.headDim % 2 === 0, 'UNSUPPORTED_TYPE', 'RoPE needs an even head dimension', { headDim: c.headDim });
  check(c.nHeads % c.nKvHeads === 0, 'CORRUPT', 'Query heads are not a multiple of KV heads');
  const weights = await loadWeights(model);
  const b = new GraphBuilder();
  buildDecoderGraph(b, c, weights, options.weights);
  const bytes = encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: 'com.microsoft', version: 1 },
    ],
    producerName: 'edgelm',
    producerVersion: '0.1.0',
    graph: b.build(`${c.arch}-decoder`),
    metadataProps: [{ key: 'edgelm.weights', value: options.weights }],
  });
  return {
    model: bytes,
    config: toOnnxConfigJson(c, model.tokenizer, options.weights),
    tokenizer: tokenizerToJson(model.tokenizer),
  };
}
