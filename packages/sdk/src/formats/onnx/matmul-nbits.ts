/**
 * Block quantization in the layout of onnxruntime's `MatMulNBits` (com.microsoft): B is
 * (N, blocksPerRow, blockSize·bits/8) uint8 with the first element of each byte in its low bits,
 * scales are (N·blocksPerRow) float32, and with no zero_points input the zero point is
 * 2^(bits−1) — so a stored q means (q − 2^(bits−1)) × scale, the symmetric scheme of Q4_0/Q8_0.
 */
export interface NBitsWeight {
  /** (n, blocksPerRow, blockSize * bits / 8) */
  packed: Uint8Array;
  /** (n, blocksPerRow) */
  scales: Float32Array;
  blocksPerRow: number;
}

export const NBITS_BLOCK_SIZE = 32;

/**
 * Quantizes a row-major (n, k) float32 matrix, one scale per block of 32 along k. A row whose
 * length is not a multiple of 32 is padded with zeros, which MatMulNBits never reads (it stops at K).
 * 4-bit uses llama.cpp's Q4_0 rule (d = the extreme value / −8); 8-bit uses Q8_0's (d = amax / 127).
 */
export function quantizeNBits(w: Float32Array, n: number, k: number, bits: 4 | 8): NBitsWeight {
  const bs = NBITS_BLOCK_SIZE;
  const blocksPerRow = Math.ceil(k / bs);
  const blobBytes = (bs * bits) / 8;
  const packed = new Uint8Array(n * blocksPerRow * blobBytes);
  const scales = new Float32Array(n * blocksPerRow);
  const zero = 1 << (bits - 1);
  const qmax = (1 << bits) - 1;
  const q = new Uint8Array(bs);
  for (let row = 0; row < n; row++) {
    for (let blk = 0; blk < blocksPerRow; blk++) {
      const start = row * k + blk * bs;
      const len = Math.min(bs, k - blk * bs);
      let extreme = 0;
      for (let j = 0; j < len; j++) if (Math.abs(w[start + j]) > Math.abs(extreme)) extreme = w[start + j];
      const d = bits === 4 ? Math.fround(extreme / -8) : Math.fround(Math.abs(extreme) / 127);
      const inv = d === 0 ? 0 : 1 / d;
      q.fill(zero);
      for (let j = 0; j < len; j++) q[j] = Math.min(qmax, Math.max(0, Math.round(w[start + j] * inv) + zero));
      const bi = row * blocksPerRow + blk;
      scales[bi] = d;
      const out = bi * blobBytes;
      if (bits === 8) packed.set(q, out);
      else for (let j = 0; j < bs / 2; j++) packed[out + j] = q[2 * j] | (q[2 * j + 1] << 4);
    }
  }
  return { packed, scales, blocksPerRow };
}

/** Undoes {@link quantizeNBits}, giving the (n, k) matrix the runtime will multiply with. */
export function dequantizeNBits(q: NBitsWeight, n: number, k: number, bits: 4 | 8): Float32Array {
  const bs = NBITS_BLOCK_SIZE;
  const blobBytes = (bs * bits) / 8;
  const zero = 1 << (bits - 1);
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const bi = row * q.blocksPerRow + Math.floor(col / bs);
      const j = col % bs;
      const byte = q.packed[bi * blobBytes + (bits === 8 ? j : j >> 1)];
      const v = bits === 8 ? byte : j & 1 ? byte >> 4 : byte & 15;
      out[row * k + col] = (v - zero) * q.scales[bi];
    }
  }
  return out;
}

/** (n, k) row-major to (k, n) row-major, the orientation of ONNX MatMul's right operand. */
export function transpose(w: Float32Array, n: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) for (let col = 0; col < k; col++) out[col * n + row] = w[row * k + col];
  return out;
}
