import {
  argmaxProgram,
  argmaxUniforms,
  attentionChunk,
  type BufferResource,
  bindGroup,
  embeddingProgram,
  embeddingUniforms,
  isQuantized,
  type KernelProfile,
  type LinearVariant,
  linearProgram,
  linearUniforms,
  type PipelineCache,
  type ProgramSpec,
  q8RowWords,
  quantizeActGrid,
  quantizeActProgram,
  quantizeActUniforms,
  ropeKvProgram,
  ropeKvThreads,
  ropeKvUniforms,
  type UniformArena,
  WEIGHT_TYPES,
  type WeightType,
} from '@edgelm/kernels';
import type { ModelConfig } from '../../model/config.js';
import type { ArchBuffers } from './arch-buffers.js';
import { archOps } from './arch-ops.js';
import { attentionKernels, attentionOps } from './attention-op.js';
import { LinearOp, Sequence, SimpleOp, type StepOp, threadsGrid } from './ops.js';
import { type GpuMatrix, partBinding } from './weights.js';

/** Device buffers of one decoder: weights (uploaded) and activations (sized for the largest step). */
export interface DecoderBuffers {
  embedding: GpuMatrix;
  classifier: GpuMatrix;
  outputNorm: GPUBuffer;
  layers: {
    attnNorm: BufferResource;
    ffnNorm: BufferResource;
    /** The layer's weight pack, when the fused kernels run it (matrices and norms live there). */
    pack: GPUBuffer | null;
    qkv: GpuMatrix;
    wo: GpuMatrix;
    gateUp: GpuMatrix;
    down: GpuMatrix;
    k: GPUBuffer;
    v: GPUBuffer;
  }[];
  x: GPUBuffer; // (maxTokens, dim) residual stream, then the fused layer's scratch
  qkvOut: GPUBuffer; // (maxTokens, (nHeads + 2 nKv) headDim)
  attn: GPUBuffer; // (maxTokens, nHeads headDim)
  hidden: GPUBuffer; // (maxTokens, hiddenDim)
  partials: GPUBuffer; // (maxTokens, nHeads, maxChunks, headDim + 2)
  logits: GPUBuffer; // (maxSeqs, vocab)
  meta: GPUBuffer; // (maxTokens, 4) u32: token, pos, seq, 0
  pages: GPUBuffer; // (maxSeqs, maxPages) i32
  lastIndex: GPUBuffer; // (maxSeqs) u32: each sequence's last token in the step
  sampled: GPUBuffer; // (maxSeqs) u32
  best: GPUBuffer; // (maxSeqs, head workgroups, 2) u32: the fused head's partial argmax
  rope: GPUBuffer; // (contextLength, headDim / 2) vec2 cos, sin
  /** int8-quantized activations for the dp4a kernels, by block size (32, 256); made by the plan. */
  xq?: Map<number, GPUBuffer>;
}

export interface DecoderShape {
  /** Tokens of the largest step (the quantized-activation scratch is sized for it). */
  maxTokens: number;
  maxPages: number;
  pageSize: number;
  /** Keys per attention chunk. */
  chunk: number;
}

/** The dispatch list of one step: embedding, each layer, head; and the optional sampler. */
export interface DecoderPlan {
  body: StepOp[];
  head: StepOp;
  argmax: StepOp;
  /** Programs the plan uses, compiled at load. */
  programs: number;
}

type Specs = { [name: string]: ProgramSpec<LinearVariant> };

/** Shapes of the linear kernels for this adapter: matrix–vector for decode, tiled for prefill. */
function linearSpecs(
  p: KernelProfile,
  wtype: WeightType,
  norm: boolean,
  epi: LinearVariant['epi'],
  gather: boolean,
  act: LinearVariant['act'],
): Specs {
  const base = { wtype, norm: norm && act === 'f32', epi, gather, subgroups: p.subgroups, act };
  return {
    decode: linearProgram({ ...base, ...p.matvec, tt: 1 }),
    prefill: linearProgram({ ...base, ...p.matmul }),
  };
}

/**
 * Compiles every pipeline (reporting progress) and builds every bind group and uniform slot
 * of the decoder once, so a step only patches token counts and encodes.
 */
export async function buildPlan(
  device: GPUDevice,
  cache: PipelineCache,
  arena: UniformArena,
  profile: KernelProfile,
  c: ModelConfig,
  b: DecoderBuffers,
  shape: DecoderShape,
  arch: ArchBuffers,
): Promise<DecoderPlan> {
  const hd = c.headDim;
  const qkvStride = (c.nHeads + 2 * c.nKvHeads) * hd;
  const wg = profile.elementWg;
  const f = c.features;
  const extra = await archOps(device, cache, arena, c, b, arch, wg);

  // dp4a: block-type parts read activations quantized to int8 blocks of their block size.
  const actOf = (t: WeightType): LinearVariant['act'] =>
    profile.dp4a && profile.xq === 'q8' && isQuantized(t) ? 'q8' : 'f32';
  const maxCols = Math.max(c.dim, c.nHeads * hd, c.hiddenDim);
  const xq = (qb: number): GPUBuffer => {
    b.xq ??= new Map();
    let buf = b.xq.get(qb);
    if (!buf) {
      buf = device.createBuffer({
        label: `int8 activations /${qb}`,
        size: shape.maxTokens * q8RowWords(maxCols, qb) * 4,
        usage: GPUBufferUsage.STORAGE,
      });
      b.xq.set(qb, buf);
    }
    return buf;
  };
  const quantizeOp = async (
    qb: number,
    X: GPUBuffer,
    cols: number,
    norm?: BufferResource,
  ): Promise<StepOp> => {
    const v = { qb, norm: Boolean(norm), wg: 64 };
    const prog = await cache.prepare(quantizeActProgram(v));
    const u = arena
      .alloc(quantizeActUniforms)
      .setAll({ cols, T: 1, xStride: cols, qStride: q8RowWords(cols, qb), eps: c.normEps });
    const res: Record<string, BufferResource> = { X, Q: xq(qb), P: arena.binding(u) };
    if (norm) res.G = norm;
    return new SimpleOp(
      prog,
      [bindGroup(device, prog, res)],
      [u],
      (u, s) => u.set('T', s.T),
      (s) => [...quantizeActGrid(v, cols, s.T), 1],
    );
  };

  const linear = async (
    m: GpuMatrix,
    o: {
      norm?: BufferResource;
      epi: LinearVariant['epi'];
      X: GPUBuffer;
      Y: GPUBuffer;
      yStride: number;
      gather?: GPUBuffer;
    },
  ): Promise<StepOp> => {
    const parts = [];
    // One quantization of X per block size the parts need, before the products (with the norm).
    const sizes = [
      ...new Set(
        m.parts
          .filter((p) => actOf(p.layout.type) === 'q8')
          .map((p) => WEIGHT_TYPES[p.layout.type].blockElems),
      ),
    ];
    const pre: StepOp[] = [];
    for (const qb of sizes) pre.push(await quantizeOp(qb, o.X, m.cols, o.norm));
    for (const p of m.parts) {
      // Each part reads its own weight type (a stacked q|k|v of a mixed file may hold several).
      const act = actOf(p.layout.type);
      const qb = WEIGHT_TYPES[p.layout.type].blockElems;
      const specs = linearSpecs(profile, p.layout.type, Boolean(o.norm), o.epi, Boolean(o.gather), act);
      const decode = await cache.prepare(specs.decode!);
      const prefill = await cache.prepare(specs.prefill!);
      const u = arena.alloc(linearUniforms).setAll({
        rows: p.rows,
        cols: m.cols,
        T: 1,
        wScale: p.layout.scaleBase,
        xStride: act === 'q8' ? q8RowWords(m.cols, qb) : m.cols,
        yStride: o.yStride,
        yOff: p.rowStart,
        upOff: p.rows,
        eps: c.normEps,
      });
      const X = act === 'q8' ? xq(qb) : o.X;
      const res: Record<string, BufferResource> = { W: partBinding(p), X, Y: o.Y, P: arena.binding(u) };
      if (o.norm && act === 'f32') res.G = o.norm;
      if (o.gather) res.IDX = o.gather;
      // The tiled pipeline's layout is group-equivalent, so one bind group serves both.
      parts.push({
        group: bindGroup(device, decode, res),
        u,
        rows: p.rows,
        decode: { program: decode, v: specs.decode!.variant },
        prefill: { program: prefill, v: specs.prefill!.variant },
      });
    }
    const op = new LinearOp(parts, o.gather ? 'nSeq' : 'T');
    return pre.length ? new Sequence([...pre, op]) : op;
  };

  const body: StepOp[] = [];
  // Embedding, one dispatch per part of the table.
  const emb = await cache.prepare(embeddingProgram({ wtype: b.embedding.type, wg }));
  const embBlocks = b.embedding.parts.map((p) =>
    arena
      .alloc(embeddingUniforms)
      .setAll({ cols: c.dim, wScale: p.layout.scaleBase, T: 1, rowStart: p.rowStart, rows: p.rows }),
  );
  body.push(
    new SimpleOp(
      emb,
      b.embedding.parts.map((p, i) =>
        bindGroup(device, emb, { W: partBinding(p), META: b.meta, Y: b.x, P: arena.binding(embBlocks[i]!) }),
      ),
      embBlocks,
      (u, s) => u.set('T', s.T),
      (s) => threadsGrid(s.T * c.dim, wg),
    ),
  );

  if (f.embeddingScale !== 1) body.push(await extra.scaleOp(b.x, c.dim, f.embeddingScale, 'T', 'scale'));

  const rope = await cache.prepare(ropeKvProgram({ style: c.ropeStyle, wg, kv: profile.kv }));
  const attention = await attentionKernels(device, cache, profile, c, shape, wg);
  for (const [l, L] of b.layers.entries()) {
    body.push(
      await linear(L.qkv, { norm: L.attnNorm, epi: 'store', X: b.x, Y: b.qkvOut, yStride: qkvStride }),
    );
    const bias = arch.bias[l];
    if (bias) body.push(await extra.biasAdd(bias, qkvStride));
    const qkNorm = arch.qkNorm[l];
    if (qkNorm) body.push(await extra.headNorm(qkNorm, qkvStride));
    const ur = arena.alloc(ropeKvUniforms).setAll({
      T: 1,
      nHeads: c.nHeads,
      nKv: c.nKvHeads,
      headDim: hd,
      qkvStride,
      pageSize: shape.pageSize,
      maxPages: shape.maxPages,
    });
    body.push(
      new SimpleOp(
        rope,
        [
          bindGroup(device, rope, {
            QKV: b.qkvOut,
            META: b.meta,
            PAGES: b.pages,
            ROPE: arch.ropes[l]!,
            KC: L.k,
            VC: L.v,
            P: arena.binding(ur),
          }),
        ],
        [ur],
        (u, s) => u.set('T', s.T),
        (s) => threadsGrid(ropeKvThreads(s.T, c.nHeads, c.nKvHeads, hd), wg),
      ),
    );
    body.push(...attentionOps(device, arena, attention, c, b, shape, l, L, wg));
    // Output projections add onto the residual, or (post norms) go through the branch row first.
    const postAttn = arch.postAttnNorm[l];
    const postFfn = arch.postFfnNorm[l];
    const branch = arch.branch;
    if (postAttn && branch) {
      body.push(await linear(L.wo, { epi: 'store', X: b.attn, Y: branch, yStride: c.dim }));
      body.push(await extra.normAdd(postAttn));
    } else {
      body.push(await linear(L.wo, { epi: 'add', X: b.attn, Y: b.x, yStride: c.dim }));
    }
    const epi = f.activation === 'geglu' ? 'geglu' : 'swiglu';
    body.push(await linear(L.gateUp, { norm: L.ffnNorm, epi, X: b.x, Y: b.hidden, yStride: c.hiddenDim }));
    if (postFfn && branch) {
      body.push(await linear(L.down, { epi: 'store', X: b.hidden, Y: branch, yStride: c.dim }));
      body.push(await extra.normAdd(postFfn));
    } else {
      body.push(await linear(L.down, { epi: 'add', X: b.hidden, Y: b.x, yStride: c.dim }));
    }
  }
  const head = await linear(b.classifier, {
    norm: b.outputNorm,
    epi: 'store',
    X: b.x,
    Y: b.logits,
    yStride: c.vocabSize,
    gather: b.lastIndex,
  });
  const headOp: StepOp = f.finalSoftcap
    ? new Sequence([head, await extra.scaleOp(b.logits, c.vocabSize, f.finalSoftcap, 'nSeq', 'softcap')])
    : head;
  const am = await cache.prepare(argmaxProgram({ wg: 256 }));
  const uam = arena.alloc(argmaxUniforms).setAll({ vocab: c.vocabSize, n: 1 });
  const argmax = new SimpleOp(
    am,
    [bindGroup(device, am, { LOGITS: b.logits, OUT: b.sampled, P: arena.binding(uam) })],
    [uam],
    (u, s) => u.set('n', s.nSeq),
    (s) => [s.nSeq, 1, 1],
  );
  return { body, head: headOp, argmax, programs: cache.size };
}

/** Uniform slots the plan takes: generous, since a slot is 256 bytes. */
export function planSlots(c: ModelConfig, parts: number): number {
  // Per layer: the element-wise ops, and up to two activation quantizations per matrix.
  return 24 + c.nLayers * 22 + parts;
}

export { attentionChunk };
