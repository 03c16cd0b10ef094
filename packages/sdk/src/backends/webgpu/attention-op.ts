import {
  attentionMergeProgram,
  attentionMergeUniforms,
  attentionProgram,
  attentionUniforms,
  bindGroup,
  type CompiledProgram,
  type FlashPrefillVariant,
  flashPrefillGrid,
  flashPrefillProgram,
  flashPrefillUniforms,
  flashPrefillVariant,
  type KernelProfile,
  type PipelineCache,
  type UniformArena,
} from '@edgelm/kernels';
import type { ModelConfig } from '../../model/config.js';
import { layerWindow } from '../../model/features.js';
import { SimpleOp, type StepOp, type StepShape, threadsGrid } from './ops.js';
import type { DecoderBuffers, DecoderShape } from './plan.js';

/** The attention pipelines of a model, compiled once and shared by its layers. */
export interface AttentionKernels {
  splitK: CompiledProgram;
  merge: CompiledProgram;
  /** The tiled prefill, where the profile asks for it and a tile fits the device; else null. */
  flash: { program: CompiledProgram; v: FlashPrefillVariant; minTokens: number } | null;
}

export async function attentionKernels(
  device: GPUDevice,
  cache: PipelineCache,
  profile: KernelProfile,
  c: ModelConfig,
  shape: DecoderShape,
  elementWg: number,
): Promise<AttentionKernels> {
  const group = c.nHeads / c.nKvHeads;
  const hdMax = Math.ceil(c.headDim / 8) * 8;
  const splitK = await cache.prepare(
    attentionProgram({ group, wg: profile.attnWg, chunk: shape.chunk, hdMax, kv: profile.kv }),
  );
  const merge = await cache.prepare(attentionMergeProgram({ wg: elementWg }));
  const tile = profile.flashPrefill;
  // A group too wide for the device's workgroup memory even at one token per tile keeps split-K.
  const v = tile && flashPrefillVariant(tile, group, c.headDim, device.limits.maxComputeWorkgroupStorageSize);
  const flash =
    tile && v ? { program: await cache.prepare(flashPrefillProgram(v)), v, minTokens: tile.minTokens } : null;
  return { splitK, merge, flash };
}

/** Layer l's attention buffers. */
export interface AttentionLayer {
  k: GPUBuffer;
  v: GPUBuffer;
}

/**
 * Layer l's attention: split-K for decode steps (and when the tiled kernel is absent), the tiled
 * flash prefill for steps of several tokens per sequence, then the merge of split partials when
 * the longest sequence spans more than one chunk (both kernels write the same partial layout).
 */
export function attentionOps(
  device: GPUDevice,
  arena: UniformArena,
  k: AttentionKernels,
  c: ModelConfig,
  b: DecoderBuffers,
  shape: DecoderShape,
  l: number,
  L: AttentionLayer,
  elementWg: number,
): StepOp[] {
  const hd = c.headDim;
  const f = c.features;
  const common = {
    nHeads: c.nHeads,
    nKv: c.nKvHeads,
    headDim: hd,
    qkvStride: (c.nHeads + 2 * c.nKvHeads) * hd,
    pageSize: shape.pageSize,
    maxPages: shape.maxPages,
    scale: f.attnScale,
    window: layerWindow(c, l),
    softcap: f.attnSoftcap,
  };
  const buffers = {
    QKV: b.qkvOut,
    META: b.meta,
    PAGES: b.pages,
    KC: L.k,
    VC: L.v,
    OUT: b.attn,
    PART: b.partials,
  };
  const flash = k.flash;
  const tiled = (s: StepShape) => flash !== null && s.T >= flash.minTokens * s.nSeq;
  const ops: StepOp[] = [];
  const ua = arena.alloc(attentionUniforms).setAll({ ...common, T: 1, nChunks: 1 });
  ops.push(
    new SimpleOp(
      k.splitK,
      [bindGroup(device, k.splitK, { ...buffers, P: arena.binding(ua) })],
      [ua],
      (u, s) => u.set('T', s.T).set('nChunks', s.nChunks),
      (s) => [s.nChunks, c.nKvHeads, s.T],
      (s) => !tiled(s),
    ),
  );
  if (flash) {
    const uf = arena.alloc(flashPrefillUniforms).setAll({ ...common, T: 1, nChunks: 1, chunk: shape.chunk });
    ops.push(
      new SimpleOp(
        flash.program,
        [bindGroup(device, flash.program, { ...buffers, P: arena.binding(uf) })],
        [uf],
        (u, s) => u.set('T', s.T).set('nChunks', s.nChunks),
        (s) => flashPrefillGrid(flash.v, s.T, c.nKvHeads, s.nChunks),
        tiled,
      ),
    );
  }
  const um = arena.alloc(attentionMergeUniforms).setAll({ T: 1, nHeads: c.nHeads, headDim: hd, nChunks: 1 });
  ops.push(
    new SimpleOp(
      k.merge,
      [bindGroup(device, k.merge, { PART: b.partials, OUT: b.attn, P: arena.binding(um) })],
      [um],
      (u, s) => u.set('T', s.T).set('nChunks', s.nChunks),
      (s) => threadsGrid(s.T * c.nHeads * hd, elementWg),
      (s) => s.nChunks > 1,
    ),
  );
  return ops;
}
