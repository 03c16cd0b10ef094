import {
  GGML_WEIGHT_TYPE,
  repackRows,
  type WeightLayout,
  type WeightType,
  weightLayout,
} from '@edgelm/kernels';
import { EdgeLMError } from '../../errors.js';
import { typeName } from '../../formats/ggml-types.js';
import type { ModelFile, TensorInfo } from '../../model/model-file.js';

/**
 * One GPU buffer holding output rows [rowStart, rowStart + rows) of a matrix. For a paired
 * matrix (gate/up, read by the fused SwiGLU) it holds those gate rows, then the same up rows.
 */
export interface MatrixPart {
  buffer: GPUBuffer;
  /** Byte offset of the part in `buffer` (non-zero inside a layer's weight pack). */
  offset: number;
  /** Bytes of the part. */
  size: number;
  rowStart: number;
  rows: number;
  layout: WeightLayout;
}

/**
 * A weight matrix on the GPU in the kernels' layout, built from one or more tensors stacked
 * along rows (q, k and v become one QKV matrix: one dispatch instead of three), and split by
 * rows into parts when it exceeds `maxStorageBufferBindingSize` (128 MiB on some phones).
 */
export interface GpuMatrix {
  type: WeightType;
  /** Output rows (for a paired matrix: rows of each half). */
  rows: number;
  cols: number;
  paired: boolean;
  parts: MatrixPart[];
  /** True when the parts live in a buffer owned by someone else (a layer's weight pack). */
  shared: boolean;
}

/** The binding of one part: its byte range of the buffer. */
export function partBinding(p: MatrixPart): GPUBufferBinding {
  return { buffer: p.buffer, offset: p.offset, size: p.size };
}

/** The GPU weight type of a (stack of) tensors, read from the first one's header. */
export function matrixType(model: ModelFile, name: string): WeightType {
  return gpuType(tensor(model, name));
}

function tensor(model: ModelFile, name: string): TensorInfo {
  const t = model.tensors.find((x) => x.name === name);
  if (!t) throw new EdgeLMError('CORRUPT', `The model has no tensor ${name}`, { tensor: name });
  return t;
}

function gpuType(info: TensorInfo): WeightType {
  const t = GGML_WEIGHT_TYPE[info.type];
  if (!t) {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      `The WebGPU backend cannot read ${typeName(info.type)} tensors yet`,
      {
        tensor: info.name,
        type: typeName(info.type),
      },
    );
  }
  return t;
}

/** Rows of a 2-D tensor (GGUF shape [cols, rows]). */
function rowsOf(info: TensorInfo): number {
  return info.shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * Uploads `names` stacked along rows (or, `paired`, as gate then up halves), reading and
 * writing one tensor at a time so the file is never held whole in CPU memory.
 */
export async function uploadMatrix(
  device: GPUDevice,
  model: ModelFile,
  names: string[],
  opts: {
    paired?: boolean;
    label: string;
    onTensor?: (bytes: number) => void;
    /** Write the matrix, whole, at this byte offset of this buffer instead of buffers of its own. */
    into?: { buffer: GPUBuffer; offset: number };
  },
): Promise<GpuMatrix> {
  const infos = names.map((n) => tensor(model, n));
  const type = gpuType(infos[0]!);
  const cols = infos[0]!.shape[0]!;
  for (const i of infos) {
    if (gpuType(i) !== type || i.shape[0] !== cols) {
      throw new EdgeLMError(
        'UNSUPPORTED_TYPE',
        `Tensors ${names.join(', ')} must share type and row length`,
        {
          tensor: i.name,
        },
      );
    }
  }
  const paired = opts.paired ?? false;
  const rows = paired ? rowsOf(infos[0]!) : infos.reduce((s, i) => s + rowsOf(i), 0);
  const perRow = weightLayout(type, 1, cols).words * 4 * (paired ? 2 : 1);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const rowsPerPart = Math.max(1, Math.floor(limit / perRow));
  const parts: MatrixPart[] = [];
  if (opts.into) {
    const layout = weightLayout(type, paired ? 2 * rows : rows, cols);
    const { buffer, offset } = opts.into;
    parts.push({ buffer, offset, size: layout.words * 4, rowStart: 0, rows, layout });
  }
  for (let r = 0; r < rows && !opts.into; r += rowsPerPart) {
    const n = Math.min(rowsPerPart, rows - r);
    const layout = weightLayout(type, paired ? 2 * n : n, cols);
    const buffer = device.createBuffer({
      label: `${opts.label}[${r}]`,
      size: layout.words * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    parts.push({ buffer, offset: 0, size: layout.words * 4, rowStart: r, rows: n, layout });
  }
  let base = 0;
  for (let ti = 0; ti < infos.length; ti++) {
    const info = infos[ti]!;
    const bytes = await model.readTensor(info);
    const n = rowsOf(info);
    const rowBytes = bytes.byteLength / n;
    // Output-row offset of this tensor, and the offset inside each part's half.
    const first = paired ? 0 : base;
    for (const p of parts) {
      const lo = Math.max(first, p.rowStart);
      const hi = Math.min(first + n, p.rowStart + p.rows);
      if (lo >= hi) continue;
      const { data, scales } = repackRows(
        type,
        cols,
        bytes.subarray((lo - first) * rowBytes, (hi - first) * rowBytes),
      );
      const local = lo - p.rowStart + (paired && ti === 1 ? p.rows : 0);
      device.queue.writeBuffer(p.buffer, p.offset + local * p.layout.rowWords * 4, data);
      if (scales)
        device.queue.writeBuffer(p.buffer, p.offset + (p.layout.scaleBase + (local * cols) / 32) * 4, scales);
    }
    base += n;
    opts.onTensor?.(bytes.byteLength);
  }
  return { type, rows, cols, paired, parts, shared: Boolean(opts.into) };
}

/** A small f32 vector (norm weights) as a storage buffer. */
export function uploadVector(device: GPUDevice, data: Float32Array, label: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, new Float32Array(data));
  return buffer;
}

export function destroyMatrix(m: GpuMatrix): void {
  if (m.shared) return;
  for (const p of m.parts) p.buffer.destroy();
}
