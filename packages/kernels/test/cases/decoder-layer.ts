import type { WeightType } from '../../src/quant/layout.js';

/** Fused decoder-layer cases: weight types per matrix, GQA shapes, history + a batched step. */
export interface DecoderLayerCase {
  name: string;
  types: { qkv: WeightType; wo: WeightType; gu: WeightType; dn: WeightType };
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
}

const f32 = { qkv: 'f32', wo: 'f32', gu: 'f32', dn: 'f32' } as const;

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
    types: { qkv: 'q8_0', wo: 'q8_0', gu: 'q8_0', dn: 'f16' },
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
    types: { qkv: 'q4_0', wo: 'q4_0', gu: 'q4_0', dn: 'q4_0' },
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
  },
  {
    name: 'f16, no GQA, 65 positions, wg 256',
    types: { qkv: 'f16', wo: 'f16', gu: 'f16', dn: 'f16' },
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
];
