/** Attention cases: head sizes 8/48/64/128, GQA groups 1–4, lengths 1/7/63/65, split-K and prefill. */
export interface AttentionCase {
  name: string;
  nHeads: number;
  nKv: number;
  headDim: number;
  /** Per sequence: total length after the step, and how many of those tokens the step carries. */
  seqs: { len: number; step: number }[];
  pageSize: number;
  chunk: number;
  style: 'interleaved' | 'neox';
}

export const attentionCases: AttentionCase[] = [
  {
    // Flash-decoding at a 4k context with the real-GPU chunk: 32 partials folded by the merge.
    name: 'hd 64 GQA 4, decode at 4095, split-K 128 (32 chunks)',
    nHeads: 4,
    nKv: 1,
    headDim: 64,
    seqs: [{ len: 4096, step: 1 }],
    pageSize: 16,
    chunk: 128,
    style: 'neox',
  },
  {
    name: 'stories260K shape, decode at pos 0',
    nHeads: 8,
    nKv: 4,
    headDim: 8,
    seqs: [{ len: 1, step: 1 }],
    pageSize: 16,
    chunk: 512,
    style: 'interleaved',
  },
  {
    name: 'hd 8 GQA 2, prefill 7',
    nHeads: 8,
    nKv: 4,
    headDim: 8,
    seqs: [{ len: 7, step: 7 }],
    pageSize: 4,
    chunk: 512,
    style: 'interleaved',
  },
  {
    name: 'hd 48 MHA, decode at 63, split-K 16',
    nHeads: 6,
    nKv: 6,
    headDim: 48,
    seqs: [{ len: 64, step: 1 }],
    pageSize: 16,
    chunk: 16,
    style: 'interleaved',
  },
  {
    name: 'hd 64 GQA 4 neox, two sequences 65 + 7',
    nHeads: 8,
    nKv: 2,
    headDim: 64,
    seqs: [
      { len: 65, step: 3 },
      { len: 7, step: 7 },
    ],
    pageSize: 8,
    chunk: 32,
    style: 'neox',
  },
  {
    name: 'hd 128 GQA 2, prefill 63 in one chunk',
    nHeads: 4,
    nKv: 2,
    headDim: 128,
    seqs: [{ len: 63, step: 63 }],
    pageSize: 16,
    chunk: 512,
    style: 'neox',
  },
  {
    name: 'hd 64 MHA, batched decode of 3 sequences, split-K',
    nHeads: 4,
    nKv: 4,
    headDim: 64,
    seqs: [
      { len: 40, step: 1 },
      { len: 1, step: 1 },
      { len: 17, step: 1 },
    ],
    pageSize: 16,
    chunk: 16,
    style: 'interleaved',
  },
];
