import {
  type BufferResource,
  biasAddProgram,
  biasAddUniforms,
  bindGroup,
  headRmsnormGrid,
  headRmsnormProgram,
  headRmsnormUniforms,
  normAddProgram,
  normAddUniforms,
  type PipelineCache,
  scaleProgram,
  scaleUniforms,
  type UniformArena,
} from '@edgelm/kernels';
import type { ModelConfig } from '../../model/config.js';
import type { ArchBuffers } from './arch-buffers.js';
import { SimpleOp, type StepOp, threadsGrid } from './ops.js';
import type { DecoderBuffers } from './plan.js';

/** Workgroup of the per-row reductions (a power of two; head and row sizes loop over it). */
const ROW_WG = 64;

/**
 * The ops an architecture adds to the llama layer, each built once at load like the rest of
 * the plan: q/k/v bias, per-head q/k norm, post-norm residual add, element-wise scale and
 * soft-cap. Pipelines compile only for the ops a model uses.
 */
export async function archOps(
  device: GPUDevice,
  cache: PipelineCache,
  arena: UniformArena,
  c: ModelConfig,
  b: DecoderBuffers,
  arch: ArchBuffers,
  wg: number,
) {
  return {
    /** Y *= s over `width` floats per token (or per sequence, on logits). */
    async scaleOp(Y: GPUBuffer, width: number, s: number, over: 'T' | 'nSeq', mode: 'scale' | 'softcap') {
      const p = await cache.prepare(scaleProgram({ mode, wg }));
      const u = arena.alloc(scaleUniforms).setAll({ n: width, s });
      return new SimpleOp(
        p,
        [bindGroup(device, p, { Y, P: arena.binding(u) })],
        [u],
        (x, st) => x.set('n', st[over] * width),
        (st) => threadsGrid(st[over] * width, wg),
      );
    },
    async biasAdd(bias: GPUBuffer, stride: number): Promise<StepOp> {
      const p = await cache.prepare(biasAddProgram({ wg }));
      const u = arena.alloc(biasAddUniforms).setAll({ n: stride, stride });
      return new SimpleOp(
        p,
        [bindGroup(device, p, { B: bias, Y: b.qkvOut, P: arena.binding(u) })],
        [u],
        (x, st) => x.set('n', st.T * stride),
        (st) => threadsGrid(st.T * stride, wg),
      );
    },
    async headNorm(w: GPUBuffer, qkvStride: number): Promise<StepOp> {
      const p = await cache.prepare(headRmsnormProgram({ wg: ROW_WG }));
      const u = arena
        .alloc(headRmsnormUniforms)
        .setAll({ nHeads: c.nHeads, headDim: c.headDim, qkvStride, eps: c.normEps });
      return new SimpleOp(
        p,
        [bindGroup(device, p, { QKV: b.qkvOut, W: w, P: arena.binding(u) })],
        [u],
        () => {},
        (st) => headRmsnormGrid(st.T, c.nHeads, c.nKvHeads),
      );
    },
    /** x += RMSNorm(branch) · g for every token. */
    async normAdd(g: GPUBuffer): Promise<StepOp> {
      const p = await cache.prepare(normAddProgram({ wg: ROW_WG }));
      const u = arena.alloc(normAddUniforms).setAll({ dim: c.dim, eps: c.normEps });
      const Y: BufferResource = arch.branch!;
      return new SimpleOp(
        p,
        [bindGroup(device, p, { Y, G: g, X: b.x, P: arena.binding(u) })],
        [u],
        () => {},
        (st) => [st.T, 1, 1],
      );
    },
  };
}

export type ArchOps = Awaited<ReturnType<typeof archOps>>;
