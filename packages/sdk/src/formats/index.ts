/// <reference types="@webgpu/types" preserve="true" />
// @edgelm/sdk/formats — model files: byte sources, GGUF and llama2.c readers, the GGUF writer,
// quantization, conversion and the ONNX exporter. The engine needs none of this to be imported.

export type { ModelConfig } from '../model/config.js';
export type { ModelFile, TensorInfo } from '../model/model-file.js';
export { type ByteSource, blobSource, bytesSource, type UrlSourceOptions, urlSource } from './byte-source.js';
export { type ConvertType, convertToGguf, convertToGgufBytes } from './convert.js';
export { GGMLType } from './ggml-types.js';
export { openGguf } from './gguf/model.js';
export { type GgufHeader, readGgufHeader } from './gguf/reader.js';
export { type GgufValue, gguf } from './gguf/values.js';
export { encodeGguf, type GgufSink, type GgufTensorInput, writeGguf } from './gguf/writer.js';
export { type ExportOnnxOptions, exportOnnx, type OnnxExport } from './onnx/export.js';
export { type OpenModelOptions, openModel } from './open-model.js';
export { dequantize, quantize } from './quant/index.js';
