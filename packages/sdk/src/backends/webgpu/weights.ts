import {
  GGML_WEIGHT_TYPE,
  repackRows,
  type StackSegment,
  stackSegments,
  WEIGHT_TYPES,
  type WeightLayout,
  type WeightType,
  weightLayout,
} from '@edgelm/kernels';
import { EdgeLMError } from '../../errors.js';
import { typeName } from '../../formats/ggml-types.js';
import type { ModelFile, TensorInfo } from '../../model/model-file.js';

/**
 * One GPU buffer holding output rows [rowStart, rowStart + rows) of a matrix, all of one type
 * (its layout's). For a paired matrix (gate/up, read by the fused SwiGLU) it holds those gate
 * rows, then the same up rows.
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
 * A weight matrix on the GPU in the kernels' layout (blocks kept at their GGUF size), built
 * from one or more tensors stacked along rows (q, k and v become one QKV matrix: one dispatch
 * instead of three, or one per run of a type when a mixed file stores them in different
 * types), and split by rows into parts when it exceeds `maxStorageBufferBindingSize` or
 * `maxBufferSize` (128 MiB on some phones).
 */
export interface GpuMatrix {
  /** The first part's type: the type of a single-tensor matrix (stacks may mix, see parts). */
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

/** The GPU weight type of a tensor, read from its header; a type the kernels lack is refused by name. */
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
      `The WebGPU backend cannot read ${typeName(info.type)} tensors (${info.name})`,
      { tensor: info.name, type: typeName(info.type) },
    );
  }
  const cols = info.shape[0]!;
  const be = WEIGHT_TYPES[t].blockElems;
  if (cols % be !== 0) {
    throw new EdgeLMError(
      'CORRUPT',
      `Tensor ${info.name}: ${typeName(info.type)} rows of ${cols} are not whole blocks of ${be}`,
      { tensor: info.name, type: typeName(info.type) },
    );
  }
  return t;
}

/** Rows of a 2-D tensor (GGUF shape [cols, rows]). */
function rowsOf(info: TensorInfo): number {
  return info.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** How `names` stack into runs of one type (a paired gate/up is one run of both). */
export function matrixSegments(model: ModelFile, names: string[], paired = false): StackSegment[] {
  const infos = names.map((n) => tensor(model, n));
  const types = infos.map(gpuType);
  const cols = infos[0]!.shape[0]!;
  for (const i of infos) {
    if (i.shape[0] !== cols) {
      throw new EdgeLMError('CORRUPT', `Tensors ${names.join(', ')} must share their row length`, {
        tensor: i.name,
      });
    }
  }
  if (!paired) return stackSegments(types, infos.map(rowsOf));
  if (types.some((t) => t !== types[0]) || rowsOf(infos[0]!) !== rowsOf(infos[1]!)) {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      `The WebGPU backend pairs ${names.join(' and ')} only when they share a type and shape (${infos.map((i) => typeName(i.type)).join(', ')})`,
      { tensor: names[1]!, type: typeName(infos[1]!.type) },
    );
  }
  return [{ type: types[0]!, rowStart: 0, rows: rowsOf(infos[0]!), tensors: [0, 1] }];
}

/**
 * Uploads `names` stacked along rows (or, `paired`, as gate then up halves), reading and
 * writing one tensor at a time so the file is never held whole in CPU memory; each tensor's
 * bytes are repacked (same size) and written, then dropped.
 */
export async function uploadMatrix(
  device: GPUDevice,
  model: ModelFile,
  names: string[],
  opts: {
    paired?: boolean;
    label: string;
    onTensor?: (bytes: number) => void;
    /** Bytes one buffer may hold (default: the device's binding and buffer limits). */
    limit?: number;
    /** Write each run of one type, whole, at these byte offsets of this buffer instead of buffers of its own. */
    into?: { buffer: GPUBuffer; offsets: number[] };
  },
): Promise<GpuMatrix> {
  const infos = names.map((n) => tensor(model, n));
  const paired = opts.paired ?? false;
  const segments = matrixSegments(model, names, paired);
  const cols = infos[0]!.shape[0]!;
  const half = paired ? 2 : 1;
  const limit =
    opts.limit ?? Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const parts: MatrixPart[][] = segments.map((seg, si) => {
    if (opts.into) {
      const layout = weightLayout(seg.type, half * seg.rows, cols);
      const { buffer, offsets } = opts.into;
      const offset = offsets[si]!;
      return [{ buffer, offset, size: layout.words * 4, rowStart: seg.rowStart, rows: seg.rows, layout }];
    }
    const perRow = weightLayout(seg.type, 1, cols).words * 4 * half;
    const rowsPerPart = Math.max(1, Math.floor(limit / perRow));
    const out: MatrixPart[] = [];
    for (let r = 0; r < seg.rows; r += rowsPerPart) {
      const n = Math.min(rowsPerPart, seg.rows - r);
      const layout = weightLayout(seg.type, half * n, cols);
      const buffer = device.createBuffer({
        label: `${opts.label}[${seg.rowStart + r}]`,
        size: layout.words * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      out.push({ buffer, offset: 0, size: layout.words * 4, rowStart: seg.rowStart + r, rows: n, layout });
    }
    return out;
  });
  let base = 0;
  for (let ti = 0; ti < infos.length; ti++) {
    const info = infos[ti]!;
    const si = segments.findIndex((s) => s.tensors.includes(ti));
    const type = segments[si]!.type;
    const bytes = await model.readTensor(info);
    const n = rowsOf(info);
    const rowBytes = bytes.byteLength / n;
    // Stack rows of this tensor (a paired half spans the same rows as its sibling).
    const first = paired ? 0 : base;
    for (const p of parts[si]!) {
      const lo = Math.max(first, p.rowStart);
      const hi = Math.min(first + n, p.rowStart + p.rows);
      if (lo >= hi) continue;
      const { data, scales } = repackRows(
        type,
        cols,
        bytes.subarray((lo - first) * rowBytes, (hi - first) * rowBytes),
      );
      const local = lo - p.rowStart + (paired && ti === 1 ? p.rows : 0);
      const lay = p.layout;
      device.queue.writeBuffer(p.buffer, p.offset + local * lay.rowWords * 4, data);
      if (scales)
        device.queue.writeBuffer(
          p.buffer,
          p.offset + (lay.scaleBase + local * lay.scaleRowWords) * 4,
          scales,
        );
    }
    base += n;
    opts.onTensor?.(bytes.byteLength);
  }
  const flat = parts.flat();
  return {
    type: flat[0]!.layout.type,
    rows: paired ? segments[0]!.rows : base,
    cols,
    paired,
    parts: flat,
    shared: Boolean(opts.into),
  };
}

/** GPU bytes a matrix's parts take (for benchmarks comparing with the file). */
export function matrixBytes(m: GpuMatrix): number {
  return m.parts.reduce((s, p) => s + p.size, 0);
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
