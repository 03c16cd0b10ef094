import {
  bindGroup,
  decodeAdvanceProgram,
  decodeAdvanceUniforms,
  type PipelineCache,
  SAMPLE_STATE_WORDS,
  sampleProgram,
  sampleUniforms,
  UniformArena,
  type UniformBlock,
  writeSampleState,
} from '@edgelm/kernels';
import { EdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import type { SampleRequest } from '../backend.js';
import type { DecoderBuffers } from './plan.js';

interface Dispatchable {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
}

/** Recent tokens the GPU keeps per sequence for the repetition penalty (longer windows sample on the CPU). */
export const GPU_PENALTY_WINDOW = 256;
/** Decode steps one submission encodes at most. */
export const MAX_DECODE_STEPS = 16;

/**
 * The GPU sampler and the decode-advance kernel of one backend, with their buffers: each
 * sequence's sampling state, its recent tokens (the window, then what a multi-step decode
 * appends) and the tokens a multi-step decode produced. The sampler comes in two pipelines, each
 * compiled on first use (greedy-only users pay for neither): a plain one (temperature, min-p,
 * penalty) and a ranked one that adds top-k and top-p.
 */
export class SamplePlan {
  readonly recStride = GPU_PENALTY_WINDOW + MAX_DECODE_STEPS;
  readonly state: GPUBuffer;
  readonly recent: GPUBuffer;
  readonly out: GPUBuffer;
  readonly outRead: GPUBuffer;
  private readonly stateHost: Uint32Array<ArrayBuffer>;
  private readonly recentHost: Uint32Array<ArrayBuffer>;
  private readonly arena: UniformArena;
  private readonly advanceU: UniformBlock<typeof decodeAdvanceUniforms.spec>;
  private readonly sampleU: UniformBlock<typeof sampleUniforms.spec>;
  private readonly samplers: [Dispatchable | null, Dispatchable | null] = [null, null];
  /** The pipeline the staged requests need: 1 when one of them filters by top-k or top-p. */
  private ranked: 0 | 1 = 0;

  private constructor(
    private readonly device: GPUDevice,
    private readonly compileSampler: (ranked: 0 | 1) => Promise<Dispatchable>,
    private readonly advance: { pipeline: GPUComputePipeline; group: GPUBindGroup },
    bufs: { state: GPUBuffer; recent: GPUBuffer; out: GPUBuffer; outRead: GPUBuffer },
    arena: UniformArena,
    advanceU: UniformBlock<typeof decodeAdvanceUniforms.spec>,
    sampleU: UniformBlock<typeof sampleUniforms.spec>,
  ) {
    this.state = bufs.state;
    this.recent = bufs.recent;
    this.out = bufs.out;
    this.outRead = bufs.outRead;
    this.arena = arena;
    this.advanceU = advanceU;
    this.sampleU = sampleU;
    const maxSeqs = bufs.state.size / 4 / SAMPLE_STATE_WORDS;
    this.stateHost = new Uint32Array(maxSeqs * SAMPLE_STATE_WORDS);
    this.recentHost = new Uint32Array(maxSeqs * this.recStride);
  }

  static async create(
    device: GPUDevice,
    cache: PipelineCache,
    c: ModelConfig,
    b: DecoderBuffers,
    maxSeqs: number,
    cpuLike: boolean,
  ): Promise<SamplePlan> {
    const recStride = GPU_PENALTY_WINDOW + MAX_DECODE_STEPS;
    // CPU-emulated adapters run a workgroup's invocations as fibers, four lanes each: one fiber
    // (no switches at barriers) and a smaller block to sort cost less there; GPUs get a wider
    // workgroup.
    const ap = await cache.prepare(decodeAdvanceProgram());
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const state = device.createBuffer({
      label: 'sample state',
      size: maxSeqs * SAMPLE_STATE_WORDS * 4,
      usage: storage,
    });
    const recent = device.createBuffer({
      label: 'recent tokens',
      size: maxSeqs * recStride * 4,
      usage: storage,
    });
    const outBytes = maxSeqs * MAX_DECODE_STEPS * 4;
    const out = device.createBuffer({ label: 'decoded tokens', size: outBytes, usage: storage });
    const outRead = device.createBuffer({
      label: 'decoded tokens readback',
      size: outBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const arena = new UniformArena(device, 2);
    const su = arena
      .alloc(sampleUniforms)
      .setAll({ vocab: c.vocabSize, recStride, bins: 256, maxSteps: MAX_DECODE_STEPS, advance: 0 });
    const au = arena.alloc(decodeAdvanceUniforms).setAll({ nSeq: 1, recStride, maxSteps: MAX_DECODE_STEPS });
    arena.flush();
    const compileSampler = async (ranked: 0 | 1): Promise<Dispatchable> => {
      const shape = cpuLike ? { wg: 4, cap: 256 } : { wg: 256, cap: 512 };
      const sp = await cache.prepare(sampleProgram({ ...shape, ranked }));
      const group = bindGroup(device, sp, {
        LOGITS: b.logits,
        SS: state,
        REC: recent,
        OUT: b.sampled,
        META: b.meta,
        STEPS: out,
        P: arena.binding(su),
      });
      return { pipeline: sp.pipeline, group };
    };
    const ag = bindGroup(device, ap, {
      SAMPLED: b.sampled,
      META: b.meta,
      SS: state,
      REC: recent,
      STEPS: out,
      P: arena.binding(au),
    });
    return new SamplePlan(
      device,
      compileSampler,
      { pipeline: ap.pipeline, group: ag },
      { state, recent, out, outRead },
      arena,
      au,
      su,
    );
  }

  /** Compiles the sampler pipeline `sampling` needs, if any, and it is not yet. */
  async ready(sampling: readonly SampleRequest[]): Promise<void> {
    if (isGreedy(sampling)) return;
    const r = needsRank(sampling);
    this.samplers[r] ??= await this.compileSampler(r);
  }

  /** True when every request's penalty window fits the GPU's recent-token buffer. */
  static supports(sampling: readonly SampleRequest[]): boolean {
    return sampling.every(
      (s) => s.params.repetitionPenalty === 1 || s.params.repetitionWindow <= GPU_PENALTY_WINDOW,
    );
  }

  /**
   * Uploads each sequence's parameters, RNG counter and recent tokens for the next submission;
   * `advance`: a multi-step decode, where the sampler also advances each sequence to its next
   * step (see {@link encodeAdvance}).
   */
  stage(sampling: readonly SampleRequest[], advance = false): void {
    const n = sampling.length;
    for (let i = 0; i < n; i++) {
      const { params: p, counter, recent = [] } = sampling[i]!;
      const w = p.repetitionPenalty === 1 ? 0 : Math.min(p.repetitionWindow, recent.length);
      for (let j = 0; j < w; j++) this.recentHost[i * this.recStride + j] = recent[recent.length - w + j]!;
      writeSampleState(this.stateHost, i, {
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        minP: Math.min(p.minP, 1),
        penalty: p.repetitionPenalty,
        window: p.repetitionWindow,
        seed: p.seed,
        counter,
        recent: w,
      });
    }
    this.advanceU.set('nSeq', n);
    this.sampleU.set('advance', advance ? 1 : 0);
    this.ranked = needsRank(sampling);
    this.arena.flush();
    this.device.queue.writeBuffer(this.state, 0, this.stateHost, 0, n * SAMPLE_STATE_WORDS);
    this.device.queue.writeBuffer(this.recent, 0, this.recentHost, 0, n * this.recStride);
  }

  /** The sampler over the head's logits of `nSeq` sequences: writes the ids the advance reads. */
  encodeSample(pass: GPUComputePassEncoder, nSeq: number): number {
    const sampler = this.samplers[this.ranked];
    if (!sampler) throw new EdgeLMError('GPU_ERROR', 'The GPU sampler was not compiled (call ready)');
    pass.setPipeline(sampler.pipeline);
    pass.setBindGroup(0, sampler.group);
    pass.dispatchWorkgroups(nSeq);
    return 1;
  }

  /**
   * Feeds the chosen ids into the next step (see `decode-advance.ts`): after greedy steps, whose
   * head writes the ids; a sampled step's sampler advances its sequences itself.
   */
  encodeAdvance(pass: GPUComputePassEncoder, nSeq: number): number {
    pass.setPipeline(this.advance.pipeline);
    pass.setBindGroup(0, this.advance.group);
    pass.dispatchWorkgroups(Math.ceil(nSeq / 64));
    return 1;
  }

  destroy(): void {
    for (const b of [this.state, this.recent, this.out, this.outRead]) b.destroy();
    this.arena.destroy();
  }
}

/** True when no request samples: the head's argmax chooses every token. */
export function isGreedy(sampling: readonly SampleRequest[]): boolean {
  return sampling.every((s) => s.params.temperature <= 0 && s.params.repetitionPenalty === 1);
}

/** 1 when a sampled request filters by top-k or top-p: only the ranked sampler does those. */
function needsRank(sampling: readonly SampleRequest[]): 0 | 1 {
  return sampling.some((s) => s.params.temperature > 0 && (s.params.topK > 0 || s.params.topP < 1)) ? 1 : 0;
}
