import {
  argmaxMergeProgram,
  argmaxMergeUniforms,
  bindGroup,
  type DecoderLayerPack,
  type DecoderLayerVariant,
  decoderLayerActivations,
  decoderLayerPack,
  decoderLayerPackUniforms,
  decoderLayerProgram,
  decoderLayerUniforms,
  decoderLayerWorkgroupBytes,
  type HeadArgmaxVariant,
  headArgmaxProgram,
  headArgmaxUniforms,
  type KernelProfile,
  type PipelineCache,
  type UniformArena,
  weightLayout,
} from '@edgelm/kernels';
import { TensorName as T } from '../../model/config.js';
import { beyondLlamaLayer } from '../../model/llama-layer.js';
import type { ModelFile } from '../../model/model-file.js';
import { SimpleOp, type StepOp } from './ops.js';
import type { DecoderBuffers } from './plan.js';
import { matrixType, partBinding } from './weights.js';

/**
 * The fused path for CPU-like adapters: embedding, one dispatch per layer, and the classifier
 * with argmax (plus a tiny merge when the vocabulary is spread over several workgroups).
 * Chosen at load when the model's shapes suit the kernels and the adapter's limits; the
 * general path stays for prefill chunks longer than `profile.fused.maxTokens`.
 */
export interface FusedDesign {
  layer: DecoderLayerVariant;
  pack: DecoderLayerPack;
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
): FusedDesign | null {
  const f = profile.fused;
  const c = model.config;
  // The fused layer kernel is a llama layer rotating by the decoder's RoPE table (so Llama 3's
  // rope_freqs are in): anything else an architecture adds runs the general path.
  if (!f || c.qkvBias || c.headDim % 4 !== 0 || beyondLlamaLayer(c, { ropeTable: true }).length > 0)
    return null;
  const rpt = f.rpt;
  const layer: DecoderLayerVariant = {
    tQkv: matrixType(model, T.attnQ(0)),
    tWo: matrixType(model, T.attnOutput(0)),
    tGu: matrixType(model, T.ffnGate(0)),
    tDn: matrixType(model, T.ffnDown(0)),
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
  };
  const wgBytes = device.limits.maxComputeWorkgroupStorageSize;
  if (decoderLayerWorkgroupBytes(layer) > wgBytes) layer.act = 'storage';
  const pack = decoderLayerPack(layer);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const clsName = c.tiedEmbeddings ? T.tokenEmbd : T.output;
  const clsType = matrixType(model, clsName);
  const clsBytes = weightLayout(clsType, c.vocabSize, c.dim).words * 4;
  const headWgBytes = 4 * (Math.ceil(c.dim / 4) * 4 + 2 * f.wg);
  if (pack.words * 4 > limit || clsBytes > limit || headWgBytes > wgBytes) return null;
  const acts = decoderLayerActivations(layer);
  const scr = maxTokens * c.dim;
  const sco = scr + (layer.act === 'storage' ? acts.total : 0);
  const nWg = Math.ceil(c.vocabSize / f.headRowsPerWg);
  return {
    layer,
    pack,
    head: { wtype: clsType, wg: f.wg, dim: c.dim, final: nWg === 1, rpt },
    rowsPerWg: Math.ceil(c.vocabSize / nWg),
    nWg,
    xFloats: sco + acts.scores,
    scr,
    sco,
  };
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
  const layer = await cache.prepare(decoderLayerProgram(d.layer));
  const ul = arena.alloc(decoderLayerUniforms).setAll({
    ...decoderLayerPackUniforms(d.pack),
    T: 1,
    pageSize: pages.pageSize,
    maxPages: pages.maxPages,
    scr: d.scr,
    sco: d.sco,
    eps: c.normEps,
    scale: 1 / Math.sqrt(c.headDim),
  });
  const groups = b.layers.map((L) =>
    bindGroup(device, layer, {
      W: L.pack!,
      ACT: b.x,
      KC: L.k,
      VC: L.v,
      META: b.meta,
      PAGES: b.pages,
      ROPE: b.rope,
      P: arena.binding(ul),
    }),
  );
  const layers = new SimpleOp(
    layer,
    groups,
    [ul],
    (u, s) => u.set('T', s.T),
    () => [1, 1, 1],
  );
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
