import type { KernelProfile, UniformArena } from '@edgelm/kernels';
import { check, EdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import type { SampleRequest, SequenceStep } from '../backend.js';
import type { FusedPlan } from './fused-plan.js';
import type { Capacity } from './load.js';
import type { StepOp, StepShape } from './ops.js';
import type { DecoderBuffers, DecoderPlan } from './plan.js';
import { isGreedy, MAX_DECODE_STEPS, type SamplePlan } from './sample-plan.js';

/** Counters of the last `forward`/`forwardSample`/`decode` call. */
export interface StepStats {
  dispatches: number;
  submits: number;
  /** Chunks of the call that ran on the fused kernels (one dispatch per layer). */
  fusedSubmits: number;
}

/** What the head does at the end of a step: logits back, argmax on the GPU, or the GPU sampler. */
export type HeadMode = 'logits' | 'argmax' | 'sample';

interface PreparedStep {
  body: readonly StepOp[];
  headOp: StepOp;
  argmaxOp: StepOp | null;
  useFused: boolean;
}

/** Buffers the results of a submission are copied to for mapping. */
export interface ReadBuffers {
  logits: GPUBuffer;
  sampled: GPUBuffer;
}

/**
 * Turns steps into GPU work: checks a group's tokens and pages and uploads its page tables and
 * meta rows, sets each chunk's shape into the uniforms, and encodes the body, the head and the
 * token choice as one compute pass per submission (k steps in one pass for a multi-step
 * decode). Which kernels a chunk runs on (fused or general) is decided here; the backend decides
 * when to run and reads the results back.
 */
export class StepEncoder {
  readonly stats: StepStats = { dispatches: 0, submits: 0, fusedSubmits: 0 };
  private readonly shape: StepShape = { T: 1, nSeq: 1, nChunks: 1 };
  private readonly metaHost: Uint32Array<ArrayBuffer>;
  private readonly pagesHost: Int32Array<ArrayBuffer>;
  private readonly lastHost: Uint32Array<ArrayBuffer>;

  constructor(
    private readonly device: GPUDevice,
    private readonly config: ModelConfig,
    private readonly profile: KernelProfile,
    private readonly cap: Capacity & { chunk: number },
    private readonly bufs: DecoderBuffers,
    private readonly arena: UniformArena,
    private readonly plan: DecoderPlan,
    private readonly fused: FusedPlan | null,
    private readonly read: ReadBuffers,
  ) {
    this.metaHost = new Uint32Array(cap.maxTokens * 4);
    this.pagesHost = new Int32Array(cap.maxSeqs * cap.maxPages);
    this.lastHost = new Uint32Array(cap.maxSeqs);
  }

  resetStats(): void {
    this.stats.dispatches = 0;
    this.stats.submits = 0;
    this.stats.fusedSubmits = 0;
  }

  /**
   * Checks a group's steps (vocabulary, context, pages for `extra` positions past each step, for
   * a multi-step decode) and uploads their page tables.
   */
  private stagePages(steps: SequenceStep[], extra: number): number {
    const c = this.config;
    const { maxPages, pageSize, pageCount } = this.cap;
    this.pagesHost.fill(0);
    let total = 0;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      const end = s.startPos + s.tokens.length + extra;
      check(s.tokens.length > 0, 'INVALID_ARGUMENT', 'A step needs at least one token');
      if (end > c.contextLength) {
        throw new EdgeLMError(
          'CONTEXT_OVERFLOW',
          `Position ${end - 1} is past the context of ${c.contextLength}`,
        );
      }
      const need = Math.ceil(end / pageSize);
      check(
        s.pages.length >= need,
        'CONTEXT_OVERFLOW',
        `Sequence ${i} has pages for fewer than ${end} positions`,
      );
      for (let p = 0; p < need; p++) {
        const page = s.pages[p]!;
        check(page >= 0 && page < pageCount, 'INVALID_ARGUMENT', `KV page ${page} is out of range`, { page });
        this.pagesHost[i * maxPages + p] = page;
      }
      for (let j = 0; j < s.tokens.length; j++) {
        const t = s.tokens[j]!;
        check(t >= 0 && t < c.vocabSize, 'INVALID_ARGUMENT', `Token ${t} is not in the vocabulary`);
      }
      total += s.tokens.length;
    }
    this.device.queue.writeBuffer(this.bufs.pages, 0, this.pagesHost, 0, steps.length * maxPages);
    return total;
  }

  /**
   * Runs a group of sequences. Tokens go in chunks of `maxTokens`; when they do not fit in one,
   * every sequence's last token is held back to a final chunk so the head runs once.
   */
  runGroup(steps: SequenceStep[], mode: HeadMode, sp: SamplePlan | null = null): void {
    const { maxTokens } = this.cap;
    const total = this.stagePages(steps, 0);
    const holdBack = total > maxTokens;
    let n = 0;
    let maxLen = 0;
    const flush = (head: boolean) => {
      if (n > 0) this.submit(n, steps.length, maxLen, head ? mode : null, sp);
      n = 0;
      maxLen = 0;
    };
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      const upto = holdBack ? s.tokens.length - 1 : s.tokens.length;
      for (let j = 0; j < upto; j++) {
        if (n === maxTokens) flush(false);
        this.metaHost.set([s.tokens[j]!, s.startPos + j, i, 0], n * 4);
        if (!holdBack && j === s.tokens.length - 1) this.lastHost[i] = n;
        maxLen = Math.max(maxLen, s.startPos + j + 1);
        n++;
      }
    }
    if (holdBack) {
      flush(false);
      for (let i = 0; i < steps.length; i++) {
        const s = steps[i]!;
        const j = s.tokens.length - 1;
        this.metaHost.set([s.tokens[j]!, s.startPos + j, i, 0], n * 4);
        this.lastHost[i] = n;
        maxLen = Math.max(maxLen, s.startPos + j + 1);
        n++;
      }
    }
    flush(true);
  }

  /**
   * Sets one chunk's shape into the uniforms and uploads them with the step's meta rows; returns
   * the ops to encode. Chunks of at most `profile.fused.maxTokens` tokens run on the fused
   * kernels when the model has them.
   */
  private prepare(T: number, nSeq: number, maxLen: number, head: HeadMode | null): PreparedStep {
    const { device, plan, shape, fused } = this;
    shape.T = T;
    shape.nSeq = nSeq;
    shape.nChunks = Math.ceil(maxLen / this.cap.chunk);
    const useFused = fused !== null && T <= (this.profile.fused?.maxTokens ?? 0);
    const embed = plan.body[0]!;
    const body: readonly StepOp[] = useFused ? [embed, fused.layers] : plan.body;
    const headOp = useFused ? fused.head : plan.head;
    const argmaxOp = useFused ? fused.merge : plan.argmax;
    for (const op of body) op.setShape(shape);
    if (head) {
      headOp.setShape(shape);
      argmaxOp?.setShape(shape);
      device.queue.writeBuffer(this.bufs.lastIndex, 0, this.lastHost, 0, nSeq);
    }
    this.arena.flush();
    device.queue.writeBuffer(this.bufs.meta, 0, this.metaHost, 0, T * 4);
    return { body, headOp, argmaxOp, useFused };
  }

  /** Encodes one step's dispatches (body, then the head and the token choice); returns how many. */
  private encodeStep(
    pass: GPUComputePassEncoder,
    ops: PreparedStep,
    head: HeadMode | null,
    sp: SamplePlan | null,
  ): number {
    let d = 0;
    for (const op of ops.body) d += op.encode(pass, this.shape);
    if (head) d += ops.headOp.encode(pass, this.shape);
    if (head === 'argmax' && ops.argmaxOp) d += ops.argmaxOp.encode(pass, this.shape);
    if (head === 'sample' && sp) d += sp.encodeSample(pass, this.shape.nSeq);
    return d;
  }

  /** Encodes one chunk as one compute pass in one command buffer, and submits it. */
  private submit(
    T: number,
    nSeq: number,
    maxLen: number,
    head: HeadMode | null,
    sp: SamplePlan | null,
  ): void {
    const ops = this.prepare(T, nSeq, maxLen, head);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const d = this.encodeStep(pass, ops, head, sp);
    pass.end();
    if (head === 'logits')
      enc.copyBufferToBuffer(this.bufs.logits, 0, this.read.logits, 0, nSeq * this.config.vocabSize * 4);
    if (head === 'argmax' || head === 'sample')
      enc.copyBufferToBuffer(this.bufs.sampled, 0, this.read.sampled, 0, nSeq * 4);
    this.device.queue.submit([enc.finish()]);
    this.count(d, ops.useFused);
  }

  private count(dispatches: number, fused: boolean): void {
    this.stats.dispatches += dispatches;
    this.stats.submits++;
    if (fused) this.stats.fusedSubmits++;
  }

  /**
   * One submission of `k` decode steps of one group, in one compute pass: per step the body,
   * the head, then the sampler (which also advances the sequences) or, greedy, the advance that
   * feeds the head's ids into the next step; and the copy of every step's ids to `sp.outRead`
   * for one read-back.
   */
  submitDecode(steps: SequenceStep[], sampling: SampleRequest[], k: number, sp: SamplePlan): void {
    const nSeq = steps.length;
    this.stagePages(steps, k - 1);
    let maxLen = 0;
    for (let i = 0; i < nSeq; i++) {
      const s = steps[i]!;
      this.metaHost.set([s.tokens[0]!, s.startPos, i, 0], i * 4);
      this.lastHost[i] = i;
      maxLen = Math.max(maxLen, s.startPos + k);
    }
    const mode: HeadMode = isGreedy(sampling) ? 'argmax' : 'sample';
    sp.stage(sampling, mode === 'sample');
    // Uniforms are shared by the k steps: attention runs the chunks of the longest of them
    // (an earlier step's extra chunks hold no keys and merge to nothing).
    const ops = this.prepare(nSeq, nSeq, maxLen, mode);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    let d = 0;
    for (let j = 0; j < k; j++) {
      d += this.encodeStep(pass, ops, mode, sp);
      if (mode === 'argmax') d += sp.encodeAdvance(pass, nSeq);
    }
    pass.end();
    enc.copyBufferToBuffer(sp.out, 0, sp.outRead, 0, nSeq * MAX_DECODE_STEPS * 4);
    this.device.queue.submit([enc.finish()]);
    this.count(d, ops.useFused);
  }
}
