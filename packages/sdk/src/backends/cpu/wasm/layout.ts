/**
 * The q8x4 layout of an 8-bit block matrix, what the wasm matvec_q8 reads: rows in groups of
 * four (the last group padded with zero rows), and per group, per 32-column block, the four rows'
 * 32 int8 values (128 bytes) with their four f32 scales in a parallel array (16 bytes).
 */
export function q8x4Size(rows: number, cols: number): { qBytes: number; dBytes: number } {
  const groups = Math.ceil(rows / 4);
  return { qBytes: groups * 4 * cols, dBytes: groups * 4 * (cols / 32) * 4 };
}

/** Rearranges row-major int8 values `q` and per-32 scales `d` into q8x4 (outputs pre-zeroed). */
export function packQ8x4(
  q: Int8Array,
  d: Float32Array,
  rows: number,
  cols: number,
  outQ: Int8Array,
  outD: Float32Array,
): void {
  const nb = cols / 32;
  for (let r = 0; r < rows; r++) {
    const g = r >> 2;
    const lane = r & 3;
    for (let b = 0; b < nb; b++) {
      const slot = (g * nb + b) * 4 + lane;
      outQ.set(q.subarray(r * cols + b * 32, r * cols + b * 32 + 32), slot * 32);
      outD[slot] = d[r * nb + b]!;
    }
  }
}

/**
 * Slot of row r's first block in a q8x4 matrix: its values start 32·slot bytes into q and its
 * scale 4·slot bytes into d (for dequant_q8). A number, not an object: it runs per token.
 */
export function q8x4Slot(r: number, cols: number): number {
  return (r >> 2) * (cols / 32) * 4 + (r & 3);
}

/**
 * The f32x4 layout of a float32 matrix, what the wasm matvec_f32 reads: rows in groups of four
 * (the last padded with zero rows), and per group, per 4-column chunk (the last zero-padded), the
 * four rows' four values side by side: 64 bytes a step, one stream.
 */
export function f32x4Length(rows: number, cols: number): number {
  return Math.ceil(rows / 4) * Math.ceil(cols / 4) * 16;
}

/** Rearranges a row-major float32 matrix into f32x4 (output pre-zeroed). */
export function packF32x4(w: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const chunks = Math.ceil(cols / 4);
  for (let r = 0; r < rows; r++) {
    const base = (r >> 2) * chunks * 16 + (r & 3) * 4;
    for (let c = 0; c < cols; c++) out[base + (c >> 2) * 16 + (c & 3)] = w[r * cols + c]!;
  }
}

/** Copies row r of an f32x4 matrix starting at element `at` of `heap` into heap[to, to + cols). */
export function readF32x4Row(heap: Float32Array, at: number, r: number, cols: number, to: number): void {
  const base = at + (r >> 2) * Math.ceil(cols / 4) * 16 + (r & 3) * 4;
  for (let c = 0; c < cols; c++) heap[to + c] = heap[base + (c >> 2) * 16 + (c & 3)]!;
}
