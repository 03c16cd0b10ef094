import { EdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { beyondLlamaLayer } from '../../model/llama-layer.js';
import type { LayerWeights, Weights } from '../../reference/weights.js';
import type { GraphBuilder } from './graph-builder.js';
import { NBITS_BLOCK_SIZE, quantizeNBits, transpose } from './matmul-nbits.js';
import { OnnxDataType } from './onnx-proto.js';

/** How the exporter stores the matrices of the linear layers. Norms and embeddings stay float32. */
export type OnnxWeightFormat = 'f32' | 'int8' | 'int4';

/** The most negative float32: masked scores stay finite, so a fully masked row softmaxes to uniform, not NaN. */
const MASK_VALUE = -3.4028234663852886e38;

/** Input and output names of the Hugging Face Optimum decoder layout. */
export const OnnxNames = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logits: 'logits',
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
} as const;

/**
 * Reorders the rows of a q or k projection from llama's interleaved RoPE pairs (2i, 2i+1) to
 * NeoX halves (i, i + headDim/2), as Hugging Face's conversion does. Attention scores are dot
 * products within a head, so permuting q and k alike leaves them unchanged while the graph
 * rotates contiguous halves, which is two Slices instead of a strided gather.
 */
export function permuteToNeox(w: Float32Array, heads: number, headDim: number, rowLen: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      const base = h * headDim;
      out.set(w.subarray((base + 2 * j) * rowLen, (base + 2 * j + 1) * rowLen), (base + j) * rowLen);
      out.set(
        w.subarray((base + 2 * j + 1) * rowLen, (base + 2 * j + 2) * rowLen),
        (base + half + j) * rowLen,
      );
    }
  }
  return out;
}

/** cos and sin of every (position, channel), NeoX layout: channel j and j + half share a frequency. */
function ropeTables(c: ModelConfig): { cos: Float32Array; sin: Float32Array } {
  const d = c.headDim;
  const half = d / 2;
  const cos = new Float32Array(c.contextLength * d);
  const sin = new Float32Array(c.contextLength * d);
  for (let p = 0; p < c.contextLength; p++) {
    for (let j = 0; j < half; j++) {
      // Computed in float64 like the CPU reference; only the table entries are rounded.
      const angle = p / c.ropeTheta ** ((2 * j) / d);
      cos[p * d + j] = cos[p * d + half + j] = Math.cos(angle);
      sin[p * d + j] = sin[p * d + half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Writes a llama decoder into `b`: token ids, attention mask, positions and the past KV in; logits
 * and the present KV out, as Optimum exports it (`past` is [batch, kvHeads, past, headDim]).
 */
export function buildDecoderGraph(
  b: GraphBuilder,
  c: ModelConfig,
  w: Weights,
  format: OnnxWeightFormat,
): void {
  const missing = beyondLlamaLayer(c);
  if (missing.length > 0) {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      `The ONNX decoder graph does not express ${c.arch}'s ${missing.join(', ')}`,
      { arch: c.arch, features: missing.join(', ') },
    );
  }
  const { dim, headDim, nHeads, nKvHeads } = c;
  const I64 = OnnxDataType.INT64;
  const F32 = OnnxDataType.FLOAT;
  const ids = b.input(OnnxNames.inputIds, I64, ['batch_size', 'sequence_length']);
  const mask = b.input(OnnxNames.attentionMask, I64, ['batch_size', 'total_sequence_length']);
  const pos = b.input(OnnxNames.positionIds, I64, ['batch_size', 'sequence_length']);
  const kvShape = ['batch_size', nKvHeads, 'past_sequence_length', headDim];
  const presentShape = ['batch_size', nKvHeads, 'total_sequence_length', headDim];
  for (let l = 0; l < c.nLayers; l++) {
    b.input(OnnxNames.pastKey(l), F32, kvShape);
    b.input(OnnxNames.pastValue(l), F32, kvShape);
  }

  const linear = (x: string, name: string, m: Float32Array, n: number, k: number): string => {
    if (format === 'f32') return b.op('MatMul', [x, b.initializer(name, F32, [k, n], transpose(m, n, k))]);
    const bits = format === 'int4' ? 4 : 8;
    const q = quantizeNBits(m, n, k, bits);
    const blob = (NBITS_BLOCK_SIZE * bits) / 8;
    const packed = b.initializer(`${name}.qweight`, OnnxDataType.UINT8, [n, q.blocksPerRow, blob], q.packed);
    const scales = b.initializer(`${name}.scales`, F32, [n * q.blocksPerRow], q.scales);
    const attrs = { K: k, N: n, bits, block_size: NBITS_BLOCK_SIZE, accuracy_level: 0 };
    return b.op('MatMulNBits', [x, packed, scales], attrs, undefined, 'com.microsoft');
  };
  const rmsnorm = (x: string, name: string, weight: Float32Array): string =>
    b.op('SimplifiedLayerNormalization', [x, b.initializer(name, F32, [dim], weight)], {
      axis: -1,
      epsilon: { float: c.normEps },
      stash_type: 1,
    });

  // Sequence lengths from the input shapes: S new tokens, T = past + S positions attended.
  const seqLen = b.op('Gather', [b.op('Shape', [ids]), b.scalarInt(1)], { axis: 0 });
  const totalLen = b.op('Gather', [b.op('Shape', [mask]), b.scalarInt(1)], { axis: 0 });
  const pastLen = b.op('Sub', [totalLen, seqLen]);

  // Additive mask [batch, 1, S, T]: query i (absolute position past + i) sees key j when j ≤ past + i
  // and attention_mask[j] is 1. Built with Where, which every execution provider implements.
  const keyPos = b.op('Unsqueeze', [b.op('Range', [b.scalarInt(0), totalLen, b.scalarInt(1)]), b.ints([0])]);
  const queryPos = b.op('Unsqueeze', [b.op('Range', [pastLen, totalLen, b.scalarInt(1)]), b.ints([1])]);
  const causal = b.op('LessOrEqual', [keyPos, queryPos]);
  const causalBias = b.op('Where', [causal, b.scalarFloat(0), b.scalarFloat(MASK_VALUE)]);
  const padOk = b.op('Unsqueeze', [b.op('Cast', [mask], { to: OnnxDataType.BOOL }), b.ints([1, 2])]);
  const attnBias = b.op('Where', [padOk, causalBias, b.scalarFloat(MASK_VALUE)]);

  // RoPE tables gathered at position_ids: [batch, 1, S, headDim], broadcast over heads.
  const tables = ropeTables(c);
  const cosTable = b.initializer('rope.cos', F32, [c.contextLength, headDim], tables.cos);
  const sinTable = b.initializer('rope.sin', F32, [c.contextLength, headDim], tables.sin);
  const cos = b.op('Unsqueeze', [b.op('Gather', [cosTable, pos], { axis: 0 }), b.ints([1])]);
  const sin = b.op('Unsqueeze', [b.op('Gather', [sinTable, pos], { axis: 0 }), b.ints([1])]);
  const half = headDim / 2;
  const rope = (x: string): string => {
    const x1 = b.op('Slice', [x, b.ints([0]), b.ints([half]), b.ints([3])]);
    const x2 = b.op('Slice', [x, b.ints([half]), b.ints([headDim]), b.ints([3])]);
    const rotated = b.op('Concat', [b.op('Neg', [x2]), x1], { axis: 3 });
    return b.op('Add', [b.op('Mul', [x, cos]), b.op('Mul', [rotated, sin])]);
  };
  // [batch, S, heads*headDim] → [batch, heads, S, headDim]
  const toHeads = (x: string, heads: number): string =>
    b.op('Transpose', [b.op('Reshape', [x, b.ints([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
  // GQA: repeat each KV head for its group of query heads, [b, kv, T, d] → [b, heads, T, d].
  const group = nHeads / nKvHeads;
  const repeatKv = (x: string): string =>
    group === 1
      ? x
      : b.op('Reshape', [
          b.op('Expand', [b.op('Unsqueeze', [x, b.ints([2])]), b.ints([1, 1, group, 1, 1])]),
          b.ints([0, nHeads, -1, headDim]),
        ]);

  const permute = c.ropeStyle === 'interleaved';
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  let x = b.op('Gather', [b.initializer('embed_tokens', F32, [c.vocabSize, dim], w.tokenEmbedding), ids], {
    axis: 0,
  });
  for (let l = 0; l < c.nLayers; l++) {
    const lw: LayerWeights = w.layers[l];
    const p = `layers.${l}`;
    const h = rmsnorm(x, `${p}.input_layernorm`, lw.rmsAtt);
    const qW = permute ? permuteToNeox(lw.wq, nHeads, headDim, dim) : lw.wq;
    const kW = permute ? permuteToNeox(lw.wk, nKvHeads, headDim, dim) : lw.wk;
    let q = linear(h, `${p}.q_proj`, qW, qDim, dim);
    let k = linear(h, `${p}.k_proj`, kW, kvDim, dim);
    let v = linear(h, `${p}.v_proj`, lw.wv, kvDim, dim);
    if (lw.bq) q = b.op('Add', [q, b.initializer(`${p}.q_proj.bias`, F32, [qDim], lw.bq)]);
    if (lw.bk) k = b.op('Add', [k, b.initializer(`${p}.k_proj.bias`, F32, [kvDim], lw.bk)]);
    if (lw.bv) v = b.op('Add', [v, b.initializer(`${p}.v_proj.bias`, F32, [kvDim], lw.bv)]);

    const qh = rope(toHeads(q, nHeads));
    const key = b.op(
      'Concat',
      [OnnxNames.pastKey(l), rope(toHeads(k, nKvHeads))],
      { axis: 2 },
      OnnxNames.presentKey(l),
    );
    const value = b.op(
      'Concat',
      [OnnxNames.pastValue(l), toHeads(v, nKvHeads)],
      { axis: 2 },
      OnnxNames.presentValue(l),
    );
    b.output(OnnxNames.presentKey(l), F32, presentShape);
    b.output(OnnxNames.presentValue(l), F32, presentShape);

    const kT = b.op('Transpose', [repeatKv(key)], { perm: [0, 1, 3, 2] });
    const scores = b.op('Mul', [b.op('MatMul', [qh, kT]), b.scalarFloat(1 / Math.sqrt(headDim))]);
    const probs = b.op('Softmax', [b.op('Add', [scores, attnBias])], { axis: -1 });
    const attn = b.op('Transpose', [b.op('MatMul', [probs, repeatKv(value)])], { perm: [0, 2, 1, 3] });
    const o = linear(b.op('Reshape', [attn, b.ints([0, 0, qDim])]), `${p}.o_proj`, lw.wo, dim, qDim);
    x = b.op('Add', [x, o]);

    const h2 = rmsnorm(x, `${p}.post_attention_layernorm`, lw.rmsFfn);
    const gate = linear(h2, `${p}.gate_proj`, lw.w1, c.hiddenDim, dim);
    const up = linear(h2, `${p}.up_proj`, lw.w3, c.hiddenDim, dim);
    const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    x = b.op('Add', [x, linear(act, `${p}.down_proj`, lw.w2, dim, c.hiddenDim)]);
  }
  const final = rmsnorm(x, 'norm', w.rmsFinal);
  const logits = linear(final, 'lm_head', w.wcls, c.vocabSize, dim);
  b.op('Identity', [logits], {}, OnnxNames.logits);
  b.output(OnnxNames.logits, F32, ['batch_size', 'sequence_length', c.vocabSize]);
}
