import {
  argmaxMergeProgram,
  argmaxMergeUniforms,
  bindGroup,
  type CompiledProgram,
  type DecoderLayerPack,
  type DecoderLayerPart,
  type DecoderLayerVariant,
  decoderLayerActivations,
  decoderLayerPack,
  decoderLayerProgram,
  decoderLayerSplitStride,
  decoderLayerUniforms,
  decoderLayerWorkgroupBytes,
  decoderLayerWorkgroups,
  type HeadArgmaxVariant,
  headArgmaxProgram,
  headArgmaxUniforms,
  isFloatType,
  type KernelProfile,
  type PipelineCache,
  type UniformArena,
  weightLayout,
} from '@edgelm/kernels';
import { TensorName as T } from '../../model/config.js';
import { beyondLlamaLayer } from '../../model/llama-layer.js';
import type { ModelFile } from '../../model/model-file.js';
import { SimpleOp, type StepOp, type StepShape } from './ops.js';
import type { DecoderBuffers } from './plan.js';
import { matrixType, partBinding } from './weights.js';

/**
 * The fused path for CPU-like adapters: embedding, one dispatch per layer (four when
 * `profile.fused.split` splits a big one), and the classifier
 * with argmax (plus a tiny merge when the vocabulary is spread over several workgroups).
 * Chosen at load when the model's shapes suit the kernels and the adapter's limits; the
 * general path stays for prefill chunks longer than `profile.fused.maxTokens`.
 */
export interface FusedDesign {
  /** Each layer's kernel variant and weight pack: mixed files (Q4_K_M) differ per layer. */
  layers: DecoderLayerVariant[];
  /** The dispatches of each layer: the whole layer, or its four split parts. */
  parts: DecoderLayerPart[];
  packs: DecoderLayerPack[];
  head: HeadArgmaxVariant;
  rowsPerWg: number;
  nWg: number;
  /** Floats of the residual buffer: maxTokens rows, then the layer's scratch and scores. */
  xFloats: number;
  scr: number;
  sco: number;
}

/** The fused design for this model on this device, or null when the general path must run it. */
export function fusedDesign(
  model: ModelFile,
  profile: KernelProfile,
  device: GPUDevice,
  maxTokens: number,
  limit: number = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
): FusedDesign | null {
  const f = profile.fused;
  const c = model.config;
  // The fused layer kernel is a llama layer rotating by the decoder's RoPE table (so Llama 3's
  // rope_freqs are in): anything else an architecture adds runs the general path.
  if (!f || c.qkvBias || c.headDim % 4 !== 0 || beyondLlamaLayer(c, { ropeTable: true }).length > 0)
    return null;
  const rpt = f.rpt;
  // The general path pairs gate/up only when they share a type; so does the fused one.
  for (let l = 0; l < c.nLayers; l++) {
    if (matrixType(model, T.ffnGate(l)) !== matrixType(model, T.ffnUp(l))) return null;
  }
  const layerTypes = (l: number) => ({
    tQ: matrixType(model, T.attnQ(l)),
    tK: matrixType(model, T.attnK(l)),
    tV: matrixType(model, T.attnV(l)),
    tWo: matrixType(model, T.attnOutput(l)),
    tGu: matrixType(model, T.ffnGate(l)),
    tDn: matrixType(model, T.ffnDown(l)),
  });
  const layer: DecoderLayerVariant = {
    ...layerTypes(0),
    wg: f.wg,
    dim: c.dim,
    hidden: c.hiddenDim,
    nHeads: c.nHeads,
    nKv: c.nKvHeads,
    headDim: c.headDim,
    ctx: c.contextLength,
    style: c.ropeStyle,
    act: 'workgroup',
    rpt,
    part: 'all',
    split: 0,
    kv: profile.kv,
    xq: profile.xq,
  };
  const wgBytes = device.limits.maxComputeWorkgroupStorageSize;
  if (decoderLayerWorkgroupBytes(layer) > wgBytes) layer.act = 'storage';
  const qkvD = (c.nHeads + 2 * c.nKvHeads) * c.headDim;
  const weights = c.dim * (qkvD + c.nHeads * c.headDim + 3 * c.hiddenDim);
  if (f.split && layer.act === 'workgroup' && weights >= f.split.minWeights) layer.split = f.split.wgs;
  const parts: DecoderLayerPart[] = layer.split ? ['qkv', 'attn', 'ffn', 'down'] : ['all'];
  const layers = Array.from({ length: c.nLayers }, (_, l) => ({ ...layer, ...layerTypes(l) }));
  const packs = layers.map(decoderLayerPack);
  const clsName = c.tiedEmbeddings ? T.tokenEmbd : T.output;
  const clsType = matrixType(model, clsName);
  const clsBytes = weightLayout(clsType, c.vocabSize, c.dim).words * 4;
  const headWgBytes = 4 * (Math.ceil(c.dim / 4) * 4 + 2 * f.wg);
  if (packs.some((p) => p.words * 4 > limit) || clsBytes > limit || headWgBytes > wgBytes) return null;
  const acts = decoderLayerActivations(layer);
  const scr = maxTokens * c.dim;
  const sco =
    scr +
    (layer.act === 'storage' ? acts.total : 0) +
    (layer.split ? maxTokens * decoderLayerSplitStride(layer) : 0);
  const nWg = Math.ceil(c.vocabSize / f.headRowsPerWg);
  return {
    layers,
    parts,
    packs,
    head: {
      wtype: clsType,
      wg: f.wg,
      dim: c.dim,
      final: nWg === 1,
      rpt: isFloatType(clsType) ? (f.headRpt ?? rpt) : rpt,
      xq: profile.xq,
    },
    rowsPerWg: Math.ceil(c.vocabSize / nWg),
    nWg,
    xFloats: sco + acts.scores,
    scr,
    sco,
  };
}

/** The layers' dispatches in order, each with its own pipeline and workgroup count. */
class LayerListOp implements StepOp {
  constructor(
    private readonly dispatches: { program: CompiledProgram; group: GPUBindGroup; n: number }[],
    private readonly u: { set(name: 'T', value: number): unknown },
  ) {}

  setShape(s: StepShape): void {
    this.u.set('T', s.T);
  }

  encode(pass: GPUComputePassEncoder): number {
    let last: CompiledProgram | null = null;
    for (const { program, group, n } of this.dispatches) {
      if (program !== last) pass.setPipeline(program.pipeline);
      last = program;
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(n, 1, 1);
    }
    return this.dispatches.length;
  }
}

export interface FusedPlan {
  layers: StepOp;
  head: StepOp;
  /** Folds the head's per-workgroup maxima; null when one workgroup already wrote the ids. */
  merge: StepOp | null;
}

/** Compiles the fused kernels and makes their bind groups and uniforms, once, at load. */
export async function buildFusedPlan(
  device: GPUDevice,
  cache: PipelineCache,
  arena: UniformArena,
  model: ModelFile,
  d: FusedDesign,
  b: DecoderBuffers,
  pages: { pageSize: number; maxPages: number },
): Promise<FusedPlan> {
  const c = model.config;
  // Layer l's part p: its own pipeline (mixed files differ per layer) and workgroup count.
  const kernels = await Promise.all(
    d.layers.flatMap((v, l) =>
      d.parts.map(async (part) => {
        const pv = { ...v, part };
        const program = await cache.prepare(decoderLayerProgram(pv));
        return { l, program, n: decoderLayerWorkgroups(pv) };
      }),
    ),
  );
  const ul = arena.alloc(decoderLayerUniforms).setAll({
    T: 1,
    pageSize: pages.pageSize,
    maxPages: pages.maxPages,
    scr: d.scr,
    sco: d.sco,
    eps: c.normEps,
    scale: 1 / Math.sqrt(c.headDim),
  });
  const dispatches = kernels.map(({ l, program, n }) => {
    const L = b.layers[l]!;
    const group = bindGroup(device, program, {
      W: L.pack!,
      ACT: b.x,
      KC: L.k,
      VC: L.v,
      META: b.meta,
      PAGES: b.pages,
      ROPE: b.rope,
      P: arena.binding(ul),
    });
    return { program, group, n };
  });
  const layers = new LayerListOp(dispatches, ul);
  const cls = b.classifier.parts[0]!;
  const head = await cache.prepare(headArgmaxProgram(d.head));
  const uh = arena.alloc(headArgmaxUniforms).setAll({
    vocab: c.vocabSize,
    rowsPerWg: d.rowsPerWg,
    nWg: d.nWg,
    wS: cls.layout.scaleBase,
    eps: c.normEps,
  });
  const headOp = new SimpleOp(
    head,
    [
      bindGroup(device, head, {
        W: partBinding(cls),
        ACT: b.x,
        G: b.outputNorm,
        IDX: b.lastIndex,
        LOGITS: b.logits,
        BEST: b.best,
        OUT: b.sampled,
        P: arena.binding(uh),
      }),
    ],
    [uh],
    () => undefined,
    (s) => [d.nWg, s.nSeq, 1],
  );
  if (d.head.final) return { layers, head: headOp, merge: null };
  const merge = await cache.prepare(argmaxMergeProgram({ wg: 64 }));
  const um = arena.alloc(argmaxMergeUniforms).setAll({ nWg: d.nWg, vocab: c.vocabSize });
  const mergeOp = new SimpleOp(
    merge,
    [bindGroup(device, merge, { BEST: b.best, OUT: b.sampled, P: arena.binding(um) })],
    [um],
    () => undefined,
    (s) => [s.nSeq, 1, 1],
  );
  return { layers, head: headOp, merge: mergeOp };
}
