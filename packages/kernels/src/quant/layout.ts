import { KernelError, require } from '../gpu/errors.js';
import { dequantGguf } from './reference.js';
import { blockWords, isFloatType, WEIGHT_TYPES, type WeightType } from './types.js';

export { GGML_WEIGHT_TYPE, isQuantized, WEIGHT_TYPES, type WeightType } from './types.js';

/**
 * How a weight matrix lives on the GPU, in u32 words: first every row's blocks in ggml's order
 * (for types whose `d` moves out, see `types.ts`, the block without it), then, for those types,
 * every row's block `d`s as packed halves, `scaleRowWords` words per row (a row's halves start
 * word-aligned so that any row range can be written on its own). Float rows are padded to a
 * multiple of 4 elements with zeros so that shaders read whole vec4s.
 */
export interface WeightLayout {
  type: WeightType;
  rows: number;
  cols: number;
  /** u32 words of one row's blocks (padded for float types). */
  rowWords: number;
  /** Word index where the side area of `d` halves begins (the end of the blocks). */
  scaleBase: number;
  /** Words of one row's `d` halves (0 when the type keeps `d` in its blocks). */
  scaleRowWords: number;
  /** Total u32 words. */
  words: number;
}

export function weightLayout(type: WeightType, rows: number, cols: number): WeightLayout {
  require(rows > 0 && cols > 0, 'Weight shape must be positive', { rows, cols });
  const info = WEIGHT_TYPES[type];
  if (isFloatType(type)) {
    const quads = Math.ceil(cols / 4);
    const rowWords = type === 'f32' ? quads * 4 : quads * 2;
    const words = rows * rowWords;
    return { type, rows, cols, rowWords, scaleBase: words, scaleRowWords: 0, words };
  }
  if (cols % info.blockElems !== 0)
    throw new KernelError(
      'INVALID_ARGUMENT',
      `${info.name} rows must be whole blocks of ${info.blockElems}`,
      {
        cols,
      },
    );
  const nb = cols / info.blockElems;
  const rowWords = nb * blockWords(type);
  const scaleBase = rows * rowWords;
  const scaleRowWords = info.dSplit ? Math.ceil(nb / 2) : 0;
  return { type, rows, cols, rowWords, scaleBase, scaleRowWords, words: scaleBase + rows * scaleRowWords };
}

/** GGUF bytes of one row of a tensor of this type and row length. */
export function ggufRowBytes(type: WeightType, cols: number): number {
  const info = WEIGHT_TYPES[type];
  return (cols / info.blockElems) * info.blockBytes;
}

/**
 * Repacked rows: `data` goes at word `rowStart * rowWords`, `scales` (the `d` halves, or null)
 * at word `scaleBase + rowStart * scaleRowWords`.
 */
export interface RepackedRows {
  data: Uint32Array<ArrayBuffer>;
  scales: Uint32Array<ArrayBuffer> | null;
}

/** Repacks whole rows of GGUF bytes (any count, e.g. one tensor of a concatenated matrix). */
export function repackRows(type: WeightType, cols: number, src: Uint8Array): RepackedRows {
  const rowBytes = ggufRowBytes(type, cols);
  require(src.byteLength % rowBytes === 0, 'Bytes are not whole rows', { bytes: src.byteLength, rowBytes });
  const rows = src.byteLength / rowBytes;
  const lay = weightLayout(type, rows, cols);
  const data = new Uint32Array(lay.scaleBase);
  const bytes = new Uint8Array(data.buffer);
  const info = WEIGHT_TYPES[type];
  if (isFloatType(type) || !info.dSplit) {
    const dstRow = lay.rowWords * 4;
    if (dstRow === rowBytes) bytes.set(src);
    else for (let r = 0; r < rows; r++) bytes.set(src.subarray(r * rowBytes, (r + 1) * rowBytes), r * dstRow);
    return { data, scales: null };
  }
  const nb = cols / info.blockElems;
  const scales = new Uint32Array(rows * lay.scaleRowWords);
  const halves = new Uint16Array(scales.buffer);
  const bw = blockWords(type) * 4;
  const BB = info.blockBytes;
  const dAt = info.dSplit === 'start' ? 0 : BB - 2;
  const body = info.dSplit === 'start' ? 2 : 0;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const o = (r * nb + b) * BB;
      halves[r * lay.scaleRowWords * 2 + b] = src[o + dAt]! | (src[o + dAt + 1]! << 8);
      bytes.set(src.subarray(o + body, o + body + bw), (r * nb + b) * bw);
    }
  }
  return { data, scales };
}

/** The whole GPU image of a tensor (tests and small tensors; the backend writes rows in place). */
export function packWeights(type: WeightType, rows: number, cols: number, src: Uint8Array): Uint32Array {
  const lay = weightLayout(type, rows, cols);
  const { data, scales } = repackRows(type, cols, src);
  const out = new Uint32Array(lay.words);
  out.set(data);
  if (scales) out.set(scales, lay.scaleBase);
  return out;
}

/** GGUF bytes of rows [r0, r0 + n) back from the GPU layout (the inverse of {@link repackRows}). */
export function unpackRows(lay: WeightLayout, words: Uint32Array, r0: number, n: number): Uint8Array {
  const { type, cols, rowWords } = lay;
  const info = WEIGHT_TYPES[type];
  const rowBytes = ggufRowBytes(type, cols);
  const src = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const out = new Uint8Array(n * rowBytes);
  if (isFloatType(type) || !info.dSplit) {
    for (let r = 0; r < n; r++) {
      const at = (r0 + r) * rowWords * 4;
      out.set(src.subarray(at, at + rowBytes), r * rowBytes);
    }
    return out;
  }
  const nb = cols / info.blockElems;
  const bw = blockWords(type) * 4;
  const BB = info.blockBytes;
  const dAt = info.dSplit === 'start' ? 0 : BB - 2;
  const body = info.dSplit === 'start' ? 2 : 0;
  for (let r = 0; r < n; r++) {
    const hb = (lay.scaleBase + (r0 + r) * lay.scaleRowWords) * 4;
    for (let b = 0; b < nb; b++) {
      const o = (r * nb + b) * BB;
      out[o + dAt] = src[hb + 2 * b]!;
      out[o + dAt + 1] = src[hb + 2 * b + 1]!;
      const at = ((r0 + r) * nb + b) * bw;
      out.set(src.subarray(at, at + bw), o + body);
    }
  }
  return out;
}

/** CPU reading of the GPU layout: row `r` dequantized (through ggml's dequantizer) into `out`. */
export function dequantRow(
  lay: WeightLayout,
  words: Uint32Array,
  r: number,
  out: Float32Array,
): Float32Array {
  out.set(dequantGguf(lay.type, unpackRows(lay, words, r, 1), lay.cols));
  return out;
}

/** The whole matrix dequantized, row-major [rows, cols]. */
export function dequantMatrix(lay: WeightLayout, words: Uint32Array): Float32Array {
  return dequantGguf(lay.type, unpackRows(lay, words, 0, lay.rows), lay.rows * lay.cols);
}

/** A run of stacked tensors of one type: rows [rowStart, rowStart + rows) of the stack. */
export interface StackSegment {
  type: WeightType;
  rowStart: number;
  rows: number;
  /** Indices of the tensors in the run. */
  tensors: number[];
}

/**
 * How tensors stacked along rows (q|k|v) group into matrices: consecutive tensors of one type
 * share a matrix (one dispatch); a change of type (llama.cpp's Q4_K_M keeps attn_v in Q6_K
 * on some layers) starts a new one.
 */
export function stackSegments(types: readonly WeightType[], rows: readonly number[]): StackSegment[] {
  const out: StackSegment[] = [];
  let at = 0;
  types.forEach((type, i) => {
    const last = out[out.length - 1];
    if (last && last.type === type) {
      last.rows += rows[i]!;
      last.tensors.push(i);
    } else out.push({ type, rowStart: at, rows: rows[i]!, tensors: [i] });
    at += rows[i]!;
  });
  return out;
}
