import { KernelError, require } from '../gpu/errors.js';
import { f16ToF32 } from './f16.js';

/**
 * How a weight matrix lives on the GPU. GGUF blocks are 18 or 34 bytes, not 4-aligned, so
 * quantized tensors are repacked at upload into whole u32 words: first every row's quants
 * (Q8_0: four int8 per word; Q4_0: a block's 16 bytes as four words, nibbles where GGUF has
 * them), then every block's scale as f32 bits from `scaleBase` on. Float rows are padded to a
 * multiple of 4 elements with zeros so that shaders read whole vec4s.
 */
export type WeightType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

/** GGUF type numbers of the types the kernels read. */
export const GGML_WEIGHT_TYPE: Readonly<Record<number, WeightType>> = {
  0: 'f32',
  1: 'f16',
  2: 'q4_0',
  8: 'q8_0',
};

export interface WeightLayout {
  type: WeightType;
  rows: number;
  cols: number;
  /** u32 words of one row's values (padded for float types). */
  rowWords: number;
  /** Word index where the f32 scales begin (quantized types), else the end of the data. */
  scaleBase: number;
  /** Total u32 words. */
  words: number;
}

const QK = 32;

export function weightLayout(type: WeightType, rows: number, cols: number): WeightLayout {
  require(rows > 0 && cols > 0, 'Weight shape must be positive', { rows, cols });
  const quads = Math.ceil(cols / 4);
  if (type === 'f32' || type === 'f16') {
    const rowWords = type === 'f32' ? quads * 4 : quads * 2;
    return { type, rows, cols, rowWords, scaleBase: rows * rowWords, words: rows * rowWords };
  }
  if (cols % QK !== 0)
    throw new KernelError('INVALID_ARGUMENT', `${type} rows must be whole blocks`, { cols });
  const rowWords = type === 'q8_0' ? cols / 4 : cols / 8;
  const scaleBase = rows * rowWords;
  return { type, rows, cols, rowWords, scaleBase, words: scaleBase + rows * (cols / QK) };
}

/** GGUF bytes of `rows` rows of a tensor of this type and row length. */
export function ggufRowBytes(type: WeightType, cols: number): number {
  if (type === 'f32') return cols * 4;
  if (type === 'f16') return cols * 2;
  return (cols / QK) * (type === 'q8_0' ? 34 : 18);
}

/** Repacked rows: `data` goes at word `rowStart * rowWords`, `scales` at `scaleBase + rowStart * cols / 32`. */
export interface RepackedRows {
  data: Uint32Array<ArrayBuffer>;
  scales: Float32Array<ArrayBuffer> | null;
}

/** Repacks whole rows of GGUF bytes (any count, e.g. one tensor of a concatenated matrix). */
export function repackRows(type: WeightType, cols: number, src: Uint8Array): RepackedRows {
  const rowBytes = ggufRowBytes(type, cols);
  require(src.byteLength % rowBytes === 0, 'Bytes are not whole rows', { bytes: src.byteLength, rowBytes });
  const rows = src.byteLength / rowBytes;
  const lay = weightLayout(type, rows, cols);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const data = new Uint32Array(lay.scaleBase);
  if (type === 'f32' || type === 'f16') {
    const bytes = new Uint8Array(data.buffer);
    const dstRow = lay.rowWords * 4;
    for (let r = 0; r < rows; r++) bytes.set(src.subarray(r * rowBytes, (r + 1) * rowBytes), r * dstRow);
    return { data, scales: null };
  }
  const blocks = (rows * cols) / QK;
  const scales = new Float32Array(blocks);
  const blockBytes = type === 'q8_0' ? 34 : 18;
  const blockWords = type === 'q8_0' ? 8 : 4;
  for (let b = 0; b < blocks; b++) {
    const o = b * blockBytes;
    scales[b] = f16ToF32(view.getUint16(o, true));
    for (let w = 0; w < blockWords; w++) data[b * blockWords + w] = view.getUint32(o + 2 + w * 4, true);
  }
  return { data, scales };
}

/** The whole GPU image of a tensor (tests and small tensors; the backend writes rows in place). */
export function packWeights(type: WeightType, rows: number, cols: number, src: Uint8Array): Uint32Array {
  const lay = weightLayout(type, rows, cols);
  const { data, scales } = repackRows(type, cols, src);
  const out = new Uint32Array(lay.words);
  out.set(data);
  if (scales) out.set(new Uint32Array(scales.buffer), lay.scaleBase);
  return out;
}

/** CPU reading of the GPU layout: row `r` dequantized into `out` (the tests' reference path). */
export function dequantRow(
  lay: WeightLayout,
  words: Uint32Array,
  r: number,
  out: Float32Array,
): Float32Array {
  const { cols, rowWords, type } = lay;
  const base = r * rowWords;
  if (type === 'f32') {
    const f = new Float32Array(words.buffer, words.byteOffset + base * 4, cols);
    out.set(f);
  } else if (type === 'f16') {
    for (let c = 0; c < cols; c++) {
      const w = words[base + (c >> 1)]!;
      out[c] = f16ToF32(c & 1 ? w >>> 16 : w & 0xffff);
    }
  } else {
    const scaleF = new Float32Array(words.buffer, words.byteOffset, words.length);
    const nb = cols / QK;
    for (let b = 0; b < nb; b++) {
      const d = scaleF[lay.scaleBase + r * nb + b]!;
      for (let i = 0; i < QK; i++) {
        let q: number;
        if (type === 'q8_0') {
          const w = words[base + b * 8 + (i >> 2)]!;
          q = (((w >>> ((i & 3) * 8)) & 0xff) << 24) >> 24;
        } else {
          const j = i & 15;
          const w = words[base + b * 4 + (j >> 2)]!;
          q = ((w >>> ((j & 3) * 8 + (i >= 16 ? 4 : 0))) & 15) - 8;
        }
        out[b * QK + i] = d * q;
      }
    }
  }
  return out;
}

/** The whole matrix dequantized, row-major [rows, cols]. */
export function dequantMatrix(lay: WeightLayout, words: Uint32Array): Float32Array {
  const out = new Float32Array(lay.rows * lay.cols);
  for (let r = 0; r < lay.rows; r++)
    dequantRow(lay, words, r, out.subarray(r * lay.cols, (r + 1) * lay.cols));
  return out;
}
