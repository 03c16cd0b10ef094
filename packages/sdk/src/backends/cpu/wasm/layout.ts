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
