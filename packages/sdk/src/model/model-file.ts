import type { GGMLType } from '../formats/ggml-types.js';
import type { TokenizerData } from '../tokenizer/tokenizer-data.js';
import type { ModelConfig } from './config.js';

/** Where one tensor lives in its file. `shape` is in GGUF order: shape[0] is the row length. */
export interface TensorInfo {
  name: string;
  type: GGMLType;
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

/** Scalar or array metadata value as GGUF stores it. */
export type MetadataValue = string | number | bigint | boolean | MetadataValue[];

/**
 * An opened model: its configuration and tokenizer are parsed, its tensors are only located.
 * `readTensor` fetches one tensor's raw bytes (in its stored type), so backends upload as the
 * bytes arrive and the file is never held whole.
 */
export interface ModelFile {
  /** 'onnx' models carry no tensors here: the ONNX backend runs the exported graph itself. */
  format: 'gguf' | 'llama2c' | 'onnx';
  config: ModelConfig;
  tokenizer: TokenizerData;
  metadata: Record<string, MetadataValue>;
  tensors: TensorInfo[];
  /** Jinja chat template from `tokenizer.chat_template`, when the file has one. */
  chatTemplate?: string;
  readTensor(info: TensorInfo, signal?: AbortSignal): Promise<Uint8Array>;
}

export function findTensor(model: Pick<ModelFile, 'tensors'>, name: string): TensorInfo | undefined {
  return model.tensors.find((t) => t.name === name);
}
