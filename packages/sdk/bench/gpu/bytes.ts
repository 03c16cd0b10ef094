// Weight bytes one decoded token reads, from a file's tensor table: every matrix and vector once,
// the classifier included (the tied embedding, read whole as the output head), and one row of
// the token embedding for the lookup. KV reads are not weights and are left out.

import { TensorName as T } from '../../src/model/config.js';
import type { TensorInfo } from '../../src/model/model-file.js';

export interface TokenBytes {
  /** All tensors' bytes as stored. */
  fileTensorBytes: number;
  /** Bytes read for one decoded token. */
  perToken: number;
  /** The output head's share of `perToken`. */
  classifier: number;
}

type Tensor = Pick<TensorInfo, 'name' | 'shape' | 'byteLength'>;

export function bytesPerToken(tensors: readonly Tensor[]): TokenBytes {
  const embd = tensors.find((t) => t.name === T.tokenEmbd);
  const output = tensors.find((t) => t.name === T.output);
  const classifier = (output ?? embd)?.byteLength ?? 0;
  let perToken = 0;
  let fileTensorBytes = 0;
  for (const t of tensors) {
    fileTensorBytes += t.byteLength;
    if (t !== embd) perToken += t.byteLength;
  }
  if (embd) {
    const rows = embd.shape[1] ?? 1;
    // Tied: the classifier reads the whole table; the lookup's row is within it.
    perToken += output ? embd.byteLength / rows : embd.byteLength;
  }
  return { fileTensorBytes, perToken, classifier };
}
