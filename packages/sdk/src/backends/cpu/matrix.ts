import { EdgeLMError } from '../../errors.js';
import { GGMLType } from '../../formats/ggml-types.js';
import { dequantize, f16ToF32 } from '../../formats/quant/index.js';
import type { ModelFile, TensorInfo } from '../../model/model-file.js';

/**
 * A weight matrix as the CPU backend holds it. Quantized files stay quantized in memory
 * (8-bit values with one scale per 32), so a 1B-parameter Q8_0/Q4_0 model needs ~1.1 GB
 * instead of 4.4 GB of float32; F32/F16 become float32.
 */
export type CpuMatrix =
  | { kind: 'f32'; rows: number; cols: number; w: Float32Array }
  | { kind: 'q8'; rows: number; cols: number; q: Int8Array; d: Float32Array };

/** Unpacks Q8_0 (34-byte blocks) or Q4_0 (18-byte blocks) into int8 values and f32 scales. */
function unpackBlocks(
  type: GGMLType,
  bytes: Uint8Array,
  elements: number,
): { q: Int8Array; d: Float32Array } {
  const blocks = elements / 32;
  const q = new Int8Array(elements);
  const d = new Float32Array(blocks);
  const blockBytes = type === GGMLType.Q8_0 ? 34 : 18;
  for (let b = 0; b < blocks; b++) {
    const at = b * blockBytes;
    d[b] = f16ToF32(bytes[at]! | (bytes[at + 1]! << 8));
    if (type === GGMLType.Q8_0) {
      for (let j = 0; j < 32; j++) q[b * 32 + j] = (bytes[at + 2 + j]! << 24) >> 24;
    } else {
      for (let j = 0; j < 16; j++) {
        const byte = bytes[at + 2 + j]!;
        q[b * 32 + j] = (byte & 0x0f) - 8;
        q[b * 32 + j + 16] = (byte >> 4) - 8;
      }
    }
  }
  return { q, d };
}

export async function loadMatrix(
  model: ModelFile,
  info: TensorInfo,
  rows: number,
  cols: number,
): Promise<CpuMatrix> {
  const elements = info.shape.reduce((a, b) => a * b, 1);
  if (elements !== rows * cols) {
    throw new EdgeLMError(
      'CORRUPT',
      `Tensor ${info.name} has ${elements} elements, expected ${rows}×${cols}`,
    );
  }
  const bytes = await model.readTensor(info);
  if ((info.type === GGMLType.Q8_0 || info.type === GGMLType.Q4_0) && cols % 32 === 0) {
    return { kind: 'q8', rows, cols, ...unpackBlocks(info.type, bytes, elements) };
  }
  if (info.type === GGMLType.F32) {
    const w = new Float32Array(elements);
    new Uint8Array(w.buffer).set(bytes.subarray(0, elements * 4));
    return { kind: 'f32', rows, cols, w };
  }
  return { kind: 'f32', rows, cols, w: dequantize(info.type, bytes, elements) };
}

/** out[r] = Σ_c W[r, c] · x[c] for rows [r0, r1). */
export function matvec(out: Float32Array, m: CpuMatrix, x: Float32Array, r0 = 0, r1 = m.rows): void {
  const n = m.cols;
  if (m.kind === 'f32') {
    const w = m.w;
    for (let r = r0; r < r1; r++) {
      let acc0 = 0;
      let acc1 = 0;
      let acc2 = 0;
      let acc3 = 0;
      const row = r * n;
      let c = 0;
      // Four accumulators break the add dependency chain; V8 keeps them in registers.
      for (; c + 3 < n; c += 4) {
        acc0 += w[row + c]! * x[c]!;
        acc1 += w[row + c + 1]! * x[c + 1]!;
        acc2 += w[row + c + 2]! * x[c + 2]!;
        acc3 += w[row + c + 3]! * x[c + 3]!;
      }
      for (; c < n; c++) acc0 += w[row + c]! * x[c]!;
      out[r] = acc0 + acc1 + acc2 + acc3;
    }
    return;
  }
  const { q, d } = m;
  const blocksPerRow = n / 32;
  for (let r = r0; r < r1; r++) {
    let acc = 0;
    for (let b = 0; b < blocksPerRow; b++) {
      const base = (r * blocksPerRow + b) * 32;
      let s0 = 0;
      let s1 = 0;
      const xb = b * 32;
      for (let j = 0; j < 32; j += 2) {
        s0 += q[base + j]! * x[xb + j]!;
        s1 += q[base + j + 1]! * x[xb + j + 1]!;
      }
      acc += (s0 + s1) * d[r * blocksPerRow + b]!;
    }
    out[r] = acc;
  }
}

/** Row `r` of a matrix as float32 (the embedding lookup). */
export function readRow(out: Float32Array, m: CpuMatrix, r: number): void {
  const n = m.cols;
  if (m.kind === 'f32') {
    out.set(m.w.subarray(r * n, (r + 1) * n));
    return;
  }
  for (let c = 0; c < n; c++) out[c] = m.q[r * n + c]! * m.d[(r * n + c) >> 5]!;
}
