import { EdgeLMError } from '../../errors.js';
import { GGML_BLOCK_ANY, isKnownType, typeName } from '../../formats/ggml-types.js';
import type { ModelFile, TensorInfo } from '../../model/model-file.js';
import {
  CPU_KERNEL_TYPES,
  type CpuKernelType,
  isCpuKernelType,
  isQuantizedActivation,
} from './wasm/kernel-types.js';

/**
 * A weight matrix as read from the file, in its stored type and ggml block layout: the CPU
 * backend copies these bytes into wasm memory unchanged, so a Q4_K model takes what its file
 * takes (4.5 bits a weight), never a widened copy.
 */
export interface CpuMatrix {
  /** ggml type name, the key of its kernel (`matmul_Q4_K`). */
  type: CpuKernelType;
  rows: number;
  cols: number;
  /** Bytes of one row (whole blocks). */
  rowBytes: number;
  /** rows · rowBytes bytes, row-major. */
  bytes: Uint8Array;
}

/** Bytes of a row of `cols` values of a kernel type. */
export function rowBytesOf(type: CpuKernelType, cols: number): number {
  const g = Object.values(GGML_BLOCK_ANY).find((b) => b.name === type)!;
  return (cols / g.blockSize) * g.blockBytes;
}

/**
 * Checks that the CPU kernels run `info` as a rows×cols matrix: a type they have (else
 * UNSUPPORTED_TYPE naming type and tensor), rows of whole blocks, and — for quantized types —
 * rows of whole 32-value activation blocks.
 */
export function checkMatrix(info: TensorInfo, rows: number, cols: number): CpuKernelType {
  const elements = info.shape.reduce((a, b) => a * b, 1);
  if (elements !== rows * cols) {
    throw new EdgeLMError(
      'CORRUPT',
      `Tensor ${info.name} has ${elements} elements, expected ${rows}×${cols}`,
      {
        tensor: info.name,
      },
    );
  }
  const name = typeName(info.type);
  if (!isKnownType(info.type) || !isCpuKernelType(name)) {
    throw new EdgeLMError('UNSUPPORTED_TYPE', `The CPU backend cannot run ${name} tensors (${info.name})`, {
      type: name,
      tensor: info.name,
    });
  }
  const { blockSize } = GGML_BLOCK_ANY[info.type];
  const unit = isQuantizedActivation(CPU_KERNEL_TYPES[name]) ? Math.max(blockSize, 32) : blockSize;
  if (cols % unit !== 0) {
    throw new EdgeLMError(
      'CORRUPT',
      `Tensor ${info.name} (${name}) has rows of ${cols}, not a multiple of ${unit}`,
      { tensor: info.name, cols },
    );
  }
  return name;
}

/** Reads one matrix's bytes (the only copy of the tensor outside wasm memory, while placed). */
export async function loadMatrix(
  model: ModelFile,
  info: TensorInfo,
  rows: number,
  cols: number,
): Promise<CpuMatrix> {
  const type = checkMatrix(info, rows, cols);
  const rowBytes = rowBytesOf(type, cols);
  const bytes = await model.readTensor(info);
  if (bytes.byteLength < rows * rowBytes) {
    throw new EdgeLMError(
      'TRUNCATED',
      `Tensor ${info.name} has ${bytes.byteLength} of ${rows * rowBytes} bytes`,
      {
        tensor: info.name,
      },
    );
  }
  return { type, rows, cols, rowBytes, bytes: bytes.subarray(0, rows * rowBytes) };
}
