import type { WeightType } from '../../src/quant/layout.js';

/** Linear-kernel cases: awkward row counts (1, 7, 63, 65, 4097), odd float widths, every fusion. */
export interface LinearCase {
  name: string;
  wtype: WeightType;
  rows: number;
  cols: number;
  tokens: number;
  norm?: boolean;
  epi?: 'store' | 'add' | 'swiglu';
  gather?: boolean;
  /** Overrides of the profile's shape, to cover the reduction paths a CPU adapter would not pick. */
  shape?: { wg: number; tpr: number; rpt: number; tt: number; subgroups?: boolean };
}

const legacy: WeightType[] = ['f32', 'f16', 'q8_0', 'q4_0'];
/** Every other type, on shapes of whole blocks of its size (32 or 256). */
const blocky: WeightType[] = [
  'bf16',
  'q4_1',
  'q5_0',
  'q5_1',
  'iq4_nl',
  'q2_k',
  'q3_k',
  'q4_k',
  'q5_k',
  'q6_k',
  'iq4_xs',
];
const k256 = (t: WeightType) => t.endsWith('_k') || t === 'iq4_xs';

export const linearCases: LinearCase[] = [
  ...legacy.flatMap((wtype): LinearCase[] => {
    const floatCols = wtype === 'f32' || wtype === 'f16';
    return [
      { name: `${wtype} [1x32]·x`, wtype, rows: 1, cols: 32, tokens: 1 },
      { name: `${wtype} [7x${floatCols ? 7 : 64}]·x`, wtype, rows: 7, cols: floatCols ? 7 : 64, tokens: 1 },
      {
        name: `${wtype} [63x${floatCols ? 65 : 96}]·x`,
        wtype,
        rows: 63,
        cols: floatCols ? 65 : 96,
        tokens: 1,
      },
      {
        name: `${wtype} [65x${floatCols ? 63 : 160}]·X[7]`,
        wtype,
        rows: 65,
        cols: floatCols ? 63 : 160,
        tokens: 7,
      },
      { name: `${wtype} [4097x64]·x`, wtype, rows: 4097, cols: 64, tokens: 1 },
      { name: `${wtype} [33x4097|4128]·X[3]`, wtype, rows: 33, cols: floatCols ? 4097 : 4128, tokens: 3 },
    ];
  }),
  ...blocky.flatMap((wtype): LinearCase[] => {
    // One block per row, an odd block count (d halves not word-aligned per row), a tiled prefill.
    const b = k256(wtype) ? 256 : wtype === 'bf16' ? 1 : 32;
    const one = wtype === 'bf16' ? 5 : b;
    return [
      { name: `${wtype} [1x${one}]·x`, wtype, rows: 1, cols: one, tokens: 1 },
      {
        name: `${wtype} [65x${3 * b + (b === 1 ? 62 : 0)}]·x`,
        wtype,
        rows: 65,
        cols: 3 * b + (b === 1 ? 62 : 0),
        tokens: 1,
      },
      { name: `${wtype} [7x${5 * b}]·X[6]`, wtype, rows: 7, cols: 5 * b, tokens: 6 },
      {
        name: `${wtype} tree-reduce tpr 16 [33x${2 * b}]·X[3] add`,
        wtype,
        rows: 33,
        cols: b === 1 ? 130 : 2 * b,
        tokens: 3,
        epi: 'add',
        shape: { wg: 64, tpr: 16, rpt: 2, tt: 4 },
      },
    ];
  }),
  {
    name: 'q4_k norm+swiglu [2x96 of 256]·X[5]',
    wtype: 'q4_k',
    rows: 96,
    cols: 256,
    tokens: 5,
    norm: true,
    epi: 'swiglu',
  },
  {
    name: 'q6_k gather [100x256]·X[idx 3], subgroups tpr 4',
    wtype: 'q6_k',
    rows: 100,
    cols: 256,
    tokens: 3,
    gather: true,
    norm: true,
    shape: { wg: 64, tpr: 4, rpt: 1, tt: 1, subgroups: true },
  },
  { name: 'q8_0 rmsnorm-fused [96x288]·x', wtype: 'q8_0', rows: 96, cols: 288, tokens: 1, norm: true },
  { name: 'f32 rmsnorm-fused [65x7]·X[5]', wtype: 'f32', rows: 65, cols: 7, tokens: 5, norm: true },
  { name: 'q4_0 residual-add [64x128]·X[2]', wtype: 'q4_0', rows: 64, cols: 128, tokens: 2, epi: 'add' },
  {
    name: 'q8_0 norm+swiglu [2x172 of 64]·X[9]',
    wtype: 'q8_0',
    rows: 172,
    cols: 64,
    tokens: 9,
    norm: true,
    epi: 'swiglu',
  },
  { name: 'f32 swiglu [2x7 of 63]·x', wtype: 'f32', rows: 7, cols: 63, tokens: 1, epi: 'swiglu' },
  { name: 'f16 gather [100x64]·X[idx 3]', wtype: 'f16', rows: 100, cols: 64, tokens: 3, gather: true },
  {
    name: 'q4_0 tree-reduce tpr 16 [65x256]·X[5]',
    wtype: 'q4_0',
    rows: 65,
    cols: 256,
    tokens: 5,
    shape: { wg: 64, tpr: 16, rpt: 2, tt: 4 },
  },
  {
    name: 'f32 subgroup-reduce tpr 4 [63x65]·x',
    wtype: 'f32',
    rows: 63,
    cols: 65,
    tokens: 1,
    norm: true,
    shape: { wg: 64, tpr: 4, rpt: 1, tt: 1, subgroups: true },
  },
  {
    name: 'q8_0 tree-reduce tpr 32 [7x1024]·x swiglu',
    wtype: 'q8_0',
    rows: 7,
    cols: 1024,
    tokens: 1,
    epi: 'swiglu',
    shape: { wg: 128, tpr: 32, rpt: 1, tt: 1 },
  },
];
