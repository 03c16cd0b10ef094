import type { WeightType } from '../../src/quant/layout.js';

/** Fused decoder-layer cases: weight types per matrix, GQA shapes, history + a batched step. */
export interface DecoderLayerCase {
  name: string;
  types: { q: WeightType; k: WeightType; v: WeightType; wo: WeightType; gu: WeightType; dn: WeightType };
  dim: number;
  hidden: number;
  nHeads: number;
  nKv: number;
  headDim: number;
  /** Per sequence: positions written by a first dispatch, then tokens the step under test carries. */
  seqs: { history: number; step: number }[];
  pageSize: number;
  style: 'interleaved' | 'neox';
  act: 'workgroup' | 'storage';
  wg: number;
  /** Matrix rows per invocation. */
  rpt: number;
  /** Run the layer as its four split dispatches over this many workgroups (else one dispatch). */
  split?: number;
}

const all = (t: WeightType) => ({ q: t, k: t, v: t, wo: t, gu: t, dn: t });
const f32 = all('f32');

export const decoderLayerCases: DecoderLayerCase[] = [
  {
    name: 'stories260K shape f32, one sequence decoding at 20',
    types: f32,
    dim: 64,
    hidden: 172,
    nHeads: 8,
    nKv: 4,
    headDim: 8,
    seqs: [{ history: 20, step: 1 }],
    pageSize: 16,
    style: 'interleaved',
    act: 'workgroup',
    wg: 64,
    rpt: 3,
  },
  {
    name: 'q8_0 with an f16 down (172-wide FFN), two sequences batched, scratch in storage',
    types: { ...all('q8_0'), dn: 'f16' },
    dim: 64,
    hidden: 172,
    nHeads: 8,
    nKv: 4,
    headDim: 8,
    seqs: [
      { history: 7, step: 1 },
      { history: 0, step: 3 },
    ],
    pageSize: 4,
    style: 'interleaved',
    act: 'storage',
    wg: 64,
    rpt: 1,
  },
  {
    name: 'q4_0, head size 48 (stories15M heads), neox, prefill of 5 over 63, 4 rows per invocation',
    types: all('q4_0'),
    dim: 96,
    hidden: 128,
    nHeads: 2,
    nKv: 1,
    headDim: 48,
    seqs: [{ history: 63, step: 5 }],
    pageSize: 16,
    style: 'neox',
    act: 'workgroup',
    wg: 8,
    rpt: 4,
    split: 3,
  },
  {
    name: 'f16, no GQA, 65 positions, wg 256',
    types: all('f16'),
    dim: 32,
    hidden: 44,
    nHeads: 4,
    nKv: 4,
    headDim: 8,
    seqs: [{ history: 64, step: 1 }],
    pageSize: 8,
    style: 'interleaved',
    act: 'storage',
    wg: 256,
    rpt: 1,
  },

  {
    name: 'Q4_K_M mix (q|k Q4_K, v and down Q6_K), 256 wide, decoding at 9',
    types: { ...all('q4_k'), v: 'q6_k', dn: 'q6_k' },
    dim: 256,
    hidden: 256,
    nHeads: 8,
    nKv: 4,
    headDim: 32,
    seqs: [{ history: 9, step: 1 }],
    pageSize: 16,
    style: 'interleaved',
    act: 'storage',
    wg: 8,
    rpt: 4,
  },
  {
    name: 'every other type: q Q5_K, k Q3_K, v Q2_K, out IQ4_XS, gate/up Q5_1, down BF16',
    types: { q: 'q5_k', k: 'q3_k', v: 'q2_k', wo: 'iq4_xs', gu: 'q5_1', dn: 'bf16' },
    dim: 256,
    hidden: 96,
    nHeads: 8,
    nKv: 2,
    headDim: 32,
    seqs: [{ history: 3, step: 2 }],
    pageSize: 8,
    style: 'neox',
    act: 'storage',
    wg: 8,
    rpt: 2,
  },
  {
    name: 'legacy blocks: q|k|v Q5_0, out IQ4_NL, gate/up Q4_1, down Q8_0',
    types: { ...all('q5_0'), wo: 'iq4_nl', gu: 'q4_1', dn: 'q8_0' },
    dim: 64,
    hidden: 96,
    nHeads: 4,
    nKv: 2,
    headDim: 16,
    seqs: [{ history: 5, step: 1 }],
    pageSize: 8,
    style: 'interleaved',
    act: 'workgroup',
    wg: 8,
    rpt: 4,
    split: 3,
  },
];
