import { EdgeLMError } from '../../errors.js';
import { type ModelConfig, TensorName as T } from '../../model/config.js';
import type { TensorInfo } from '../../model/model-file.js';

/** Rows [r0, r0 + n) of a 2-D tensor as a tensor of its own: rows are contiguous whole blocks. */
function rowView(t: TensorInfo, name: string, r0: number, n: number): TensorInfo {
  const rows = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = t.byteLength / rows;
  if (!Number.isInteger(rowBytes) || r0 + n > rows) {
    throw new EdgeLMError('CORRUPT', `Tensor "${t.name}" cannot be split at rows ${r0}+${n}`, {
      tensor: t.name,
    });
  }
  return {
    name,
    type: t.type,
    shape: [t.shape[0]!, n],
    offset: t.offset + r0 * rowBytes,
    byteLength: n * rowBytes,
  };
}

/**
 * Phi-3 stores q/k/v as one `attn_qkv` and the FFN's gate and up as one `ffn_up` of twice the
 * width (gate rows first, as ggml_swiglu splits it). Each is replaced by views of its rows under
 * the separate names, so every backend loads one layout; the bytes are read once either way.
 */
export function splitFusedTensors(c: ModelConfig, tensors: TensorInfo[]): TensorInfo[] {
  if (!c.features.fused.qkv && !c.features.fused.gateUp) return tensors;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const out: TensorInfo[] = [];
  for (const t of tensors) {
    const m = /^blk\.(\d+)\.(attn_qkv|ffn_up)\.weight$/.exec(t.name);
    if (!m) {
      out.push(t);
      continue;
    }
    const l = Number(m[1]);
    if (m[2] === 'attn_qkv' && c.features.fused.qkv) {
      out.push(
        rowView(t, T.attnQ(l), 0, q),
        rowView(t, T.attnK(l), q, kv),
        rowView(t, T.attnV(l), q + kv, kv),
      );
    } else if (m[2] === 'ffn_up' && c.features.fused.gateUp) {
      out.push(rowView(t, T.ffnGate(l), 0, c.hiddenDim), rowView(t, T.ffnUp(l), c.hiddenDim, c.hiddenDim));
    } else {
      out.push(t);
    }
  }
  return out;
}
