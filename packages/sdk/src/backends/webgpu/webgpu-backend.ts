import {
  attentionChunk,
  type KernelProfile,
  kernelProfile,
  PipelineCache,
  UniformArena,
} from '@edgelm/kernels';
import type { LoadProgress } from '../../api/types.js';
import { check, EdgeLMError, toEdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import type { ModelFile } from '../../model/model-file.js';
import { Sampler } from '../../sampler/sample.js';
import type { Backend, SampleRequest, SequenceStep, StepLogits } from '../backend.js';
import { advanceRequests, decodeByStep } from '../decode-steps.js';
import { type ArchBuffers, destroyArchBuffers, loadArchBuffers } from './arch-buffers.js';
import { buildFusedPlan, type FusedPlan, fusedDesign } from './fused-plan.js';
import { type Capacity, destroyBuffers, loadBuffers, type ProfileOverride, weightBytes } from './load.js';
import type { StepOp, StepShape } from './ops.js';
import { buildPlan, type DecoderBuffers, type DecoderPlan, planSlots } from './plan.js';
import { MAX_DECODE_STEPS, SamplePlan } from './sample-plan.js';

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** The device to run on (Dawn in Node, or one the page made); default: `navigator.gpu`'s. */
  device?: GPUDevice;
  /** Tokens per KV page (default 16). */
  pageSize?: number;
  /** KV pages (default: four full contexts), lowered to what one binding can hold. */
  pageCount?: number;
  /** Tokens per submitted chunk of a prefill (default 64). */
  maxTokens?: number;
  /** Sequences per batched step (default 16). */
  maxSeqs?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Kernel shapes instead of the adapter's defaults (benchmarks compare them). */
  profile?: ProfileOverride;
  /**
   * Bytes one GPU buffer may hold, below the device's `maxStorageBufferBindingSize` and
   * `maxBufferSize` (tests force Android's 128 MiB, or less, to exercise split matrices).
   */
  bufferLimit?: number;
}

/** Counters of the last `forward`/`forwardSample` call. */
export interface StepStats {
  dispatches: number;
  submits: number;
  /** Chunks of the call that ran on the fused kernels (one dispatch per layer). */
  fusedSubmits: number;
}

/**
 * The WebGPU backend: our WGSL kernels over a paged KV cache. A step is one compute pass in one
 * command buffer (per chunk of `maxTokens` for long prefills). On GPUs the general kernels run
 * ~7 dispatches per layer; on CPU-emulated adapters (SwiftShader, WARP, llvmpipe), where each
 * dispatch and workgroup costs tens of microseconds, steps of up to `profile.fused.maxTokens`
 * tokens run one dispatch per layer plus the classifier with argmax fused (see fused-plan.ts).
 * `forwardSample` reads back only token ids.
 */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly pageBytes: number;
  /** Counters of the last step, for benchmarks. */
  readonly stats: StepStats = { dispatches: 0, submits: 0, fusedSubmits: 0 };
  private lost: GPUDeviceLostInfo | null = null;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly shape: StepShape = { T: 1, nSeq: 1, nChunks: 1 };
  private readonly metaHost: Uint32Array<ArrayBuffer>;
  private readonly pagesHost: Int32Array<ArrayBuffer>;
  private readonly lastHost: Uint32Array<ArrayBuffer>;
  private readonly logitsRead: GPUBuffer;
  private readonly sampledRead: GPUBuffer;
  private readonly sampler = new Sampler();
  private samplePlan: Promise<SamplePlan> | null = null;

  private constructor(
    readonly device: GPUDevice,
    readonly config: ModelConfig,
    readonly profile: KernelProfile,
    private readonly cap: Capacity & { chunk: number },
    private readonly bufs: DecoderBuffers,
    private readonly arena: UniformArena,
    private readonly plan: DecoderPlan,
    private readonly fused: FusedPlan | null,
    private readonly archBufs: ArchBuffers,
    private readonly cache: PipelineCache,
  ) {
    const c = config;
    this.pageBytes = c.nLayers * cap.pageSize * c.nKvHeads * c.headDim * 4 * 2;
    this.metaHost = new Uint32Array(cap.maxTokens * 4);
    this.pagesHost = new Int32Array(cap.maxSeqs * cap.maxPages);
    this.lastHost = new Uint32Array(cap.maxSeqs);
    this.logitsRead = device.createBuffer({
      label: 'logits readback',
      size: cap.maxSeqs * c.vocabSize * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.sampledRead = device.createBuffer({
      label: 'token readback',
      size: Math.max(16, cap.maxSeqs * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    device.lost.then((info) => {
      this.lost = info;
    });
  }

  /** GPU bytes the weight matrices take (blocks at their GGUF size; compare with the file). */
  get weightBytes(): number {
    return weightBytes(this.bufs);
  }

  get pageSize(): number {
    return this.cap.pageSize;
  }

  get pageCount(): number {
    return this.cap.pageCount;
  }

  static async create(
    model: ModelFile,
    device: GPUDevice,
    o: WebGpuBackendOptions = {},
  ): Promise<WebGpuBackend> {
    const c = model.config;
    const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo ?? {};
    const wgsl = (globalThis.navigator as Navigator | undefined)?.gpu?.wgslLanguageFeatures;
    const profile: KernelProfile = { ...kernelProfile(info, device.features, wgsl), ...o.profile };
    const pageSize = o.pageSize ?? 16;
    const maxPages = Math.ceil(c.contextLength / pageSize);
    const kvPageBytes = pageSize * c.nKvHeads * c.headDim * 4;
    const limit = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
      o.bufferLimit ?? Number.POSITIVE_INFINITY,
    );
    const pageCount = Math.min(o.pageCount ?? maxPages * 4, Math.floor(limit / kvPageBytes));
    check(pageCount > 0, 'INVALID_ARGUMENT', 'A KV page does not fit in one GPU binding', { pageSize });
    const chunk = attentionChunk(profile.attnChunk, c.nHeads / c.nKvHeads);
    const cap = {
      maxTokens: o.maxTokens ?? 64,
      maxSeqs: o.maxSeqs ?? 16,
      maxPages,
      pageSize,
      pageCount,
      maxChunks: Math.ceil(c.contextLength / chunk),
      chunk,
      bufferLimit: limit,
    };
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let bufs: DecoderBuffers | undefined;
    let arena: UniformArena | undefined;
    let archBufs: ArchBuffers | undefined;
    try {
      const design = fusedDesign(model, profile, device, cap.maxTokens, limit);
      bufs = await loadBuffers(device, model, cap, o.onProgress, design);
      archBufs = await loadArchBuffers(device, model, cap.maxTokens, bufs.rope);
      const parts = [
        bufs.embedding,
        bufs.classifier,
        ...bufs.layers.flatMap((L) => [L.qkv, L.wo, L.gateUp, L.down]),
      ];
      arena = new UniformArena(
        device,
        planSlots(
          c,
          parts.reduce((s, m) => s + m.parts.length, 0),
        ),
      );
      const cache = new PipelineCache(device, 64, (_key, n) =>
        o.onProgress?.({ phase: 'compile', pipelines: n }),
      );
      const plan = await buildPlan(device, cache, arena, profile, c, bufs, cap, archBufs);
      const fused = design && (await buildFusedPlan(device, cache, arena, model, design, bufs, cap));
      arena.flush();
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      if (oom) throw new EdgeLMError('OUT_OF_MEMORY', `The GPU cannot hold the model: ${oom.message}`);
      if (validation) throw new EdgeLMError('GPU_ERROR', validation.message);
      o.onProgress?.({ phase: 'ready' });
      return new WebGpuBackend(device, c, profile, cap, bufs, arena, plan, fused, archBufs, cache);
    } catch (e) {
      if (bufs) destroyBuffers(bufs);
      if (archBufs) destroyArchBuffers(archBufs);
      arena?.destroy();
      throw toEdgeLMError(e, 'GPU_ERROR');
    }
  }

  forward(steps: SequenceStep[]): Promise<StepLogits> {
    return this.serial(async () => {
      const out: Float32Array[] = [];
      this.stats.dispatches = 0;
      this.stats.submits = 0;
      this.stats.fusedSubmits = 0;
      for (let i = 0; i < steps.length; i += this.cap.maxSeqs) {
        const group = steps.slice(i, i + this.cap.maxSeqs);
        this.runGroup(group, 'logits');
        await this.read(this.logitsRead, () => {
          const all = new Float32Array(
            this.logitsRead.getMappedRange(0, group.length * this.config.vocabSize * 4),
          );
          for (let s = 0; s < group.length; s++) {
            out.push(all.slice(s * this.config.vocabSize, (s + 1) * this.config.vocabSize));
          }
        });
      }
      return out;
    });
  }

  async forwardSample(steps: SequenceStep[], sampling: SampleRequest[]): Promise<Int32Array> {
    check(sampling.length === steps.length, 'INVALID_ARGUMENT', 'One sampling request per sequence');
    const out = new Int32Array(steps.length);
    if (!SamplePlan.supports(sampling)) {
      // A penalty window longer than the GPU keeps: the CPU sampler over read-back logits.
      const logits = await this.forward(steps);
      for (let i = 0; i < steps.length; i++) {
        const s = sampling[i]!;
        out[i] = this.sampler.sample(logits[i]!, s.params, s.counter, s.recent);
      }
      return out;
    }
    const sp = isGreedy(sampling) ? null : await this.sampling();
    await sp?.ready(true);
    return this.serial(async () => {
      this.resetStats();
      for (let i = 0; i < steps.length; i += this.cap.maxSeqs) {
        const group = steps.slice(i, i + this.cap.maxSeqs);
        sp?.stage(sampling.slice(i, i + this.cap.maxSeqs));
        this.runGroup(group, sp ? 'sample' : 'argmax', sp);
        await this.read(this.sampledRead, () => {
          out.set(new Int32Array(this.sampledRead.getMappedRange(0, group.length * 4)), i);
        });
      }
      return out;
    });
  }

  /**
   * `n` decode steps of every sequence, {@link MAX_DECODE_STEPS} per submission: the sampled
   * token stays on the GPU as the next step's input and only the ids come back.
   */
  async decode(steps: SequenceStep[], sampling: SampleRequest[], n: number): Promise<Int32Array> {
    check(sampling.length === steps.length, 'INVALID_ARGUMENT', 'One sampling request per sequence');
    check(
      Number.isInteger(n) && n >= 1,
      'INVALID_ARGUMENT',
      `Decode steps must be a positive integer, not ${n}`,
    );
    for (const s of steps) {
      check(s.tokens.length === 1, 'INVALID_ARGUMENT', 'A decode step carries one token per sequence');
    }
    // Long penalty windows sample on the CPU, one step at a time.
    if (!SamplePlan.supports(sampling)) return decodeByStep(this, steps, sampling, n);
    const sp = await this.sampling();
    await sp.ready(!isGreedy(sampling));
    const out = new Int32Array(steps.length * n);
    const group = Math.min(this.cap.maxSeqs, this.cap.maxTokens);
    for (let g = 0; g < steps.length; g += group) {
      let st = steps.slice(g, g + group);
      let sa = sampling.slice(g, g + group);
      for (let done = 0; done < n; ) {
        const k = Math.min(MAX_DECODE_STEPS, n - done);
        const rows = await this.serial(() => this.decodeGroup(st, sa, k, sp));
        for (let i = 0; i < st.length; i++) out.set(rows[i]!, (g + i) * n + done);
        done += k;
        if (done < n) [st, sa] = advanceRequests(st, sa, rows);
      }
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    destroyBuffers(this.bufs);
    destroyArchBuffers(this.archBufs);
    this.arena.destroy();
    this.logitsRead.destroy();
    this.sampledRead.destroy();
    this.samplePlan?.then((p) => p.destroy()).catch(() => undefined);
  }

  /** The sampler pipelines, compiled on first use. */
  private sampling(): Promise<SamplePlan> {
    this.samplePlan ??= SamplePlan.create(
      this.device,
      this.cache,
      this.config,
      this.bufs,
      this.cap.maxSeqs,
      this.fused !== null,
    );
    return this.samplePlan;
  }

  private resetStats(): void {
    this.stats.dispatches = 0;
    this.stats.submits = 0;
    this.stats.fusedSubmits = 0;
  }

  /** One step at a time: uniforms and staging arrays are shared by all steps. */
  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.queue.then(() => {
      if (this.disposed) throw new EdgeLMError('DISPOSED', 'The WebGPU backend was disposed');
      if (this.lost) throw this.lostError();
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private lostError(): EdgeLMError {
    return new EdgeLMError('DEVICE_LOST', `The GPU device was lost: ${this.lost?.message ?? ''}`, {
      reason: this.lost?.reason ?? 'unknown',
    });
  }

  private async read(buf: GPUBuffer, take: () => void): Promise<void> {
    try {
      await buf.mapAsync(GPUMapMode.READ);
    } catch (e) {
      throw this.lost ? this.lostError() : toEdgeLMError(e, 'GPU_ERROR');
    }
    try {
      take();
    } finally {
      buf.unmap();
    }
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
  private runGroup(steps: SequenceStep[], mode: HeadMode, sp: SamplePlan | null = null): void {
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
      enc.copyBufferToBuffer(this.bufs.logits, 0, this.logitsRead, 0, nSeq * this.config.vocabSize * 4);
    if (head === 'argmax' || head === 'sample')
      enc.copyBufferToBuffer(this.bufs.sampled, 0, this.sampledRead, 0, nSeq * 4);
    this.device.queue.submit([enc.finish()]);
    this.count(d, ops.useFused);
  }

  private count(dispatches: number, fused: boolean): void {
    this.stats.dispatches += dispatches;
    this.stats.submits++;
    if (fused) this.stats.fusedSubmits++;
  }

  /**
   * One submission of `k` decode steps of one group: per step the body, the head, the sampler
   * (or argmax) and the advance that feeds the ids into the next step, all in one compute
   * pass; then one read-back of every step's ids. Returns each sequence's `k` tokens.
   */
  private async decodeGroup(
    steps: SequenceStep[],
    sampling: SampleRequest[],
    k: number,
    sp: SamplePlan,
  ): Promise<Uint32Array[]> {
    this.resetStats();
    const nSeq = steps.length;
    this.stagePages(steps, k - 1);
    let maxLen = 0;
    for (let i = 0; i < nSeq; i++) {
      const s = steps[i]!;
      this.metaHost.set([s.tokens[0]!, s.startPos, i, 0], i * 4);
      this.lastHost[i] = i;
      maxLen = Math.max(maxLen, s.startPos + k);
    }
    sp.stage(sampling);
    const mode: HeadMode = isGreedy(sampling) ? 'argmax' : 'sample';
    // Uniforms are shared by the k steps: attention runs the chunks of the longest of them
    // (an earlier step's extra chunks hold no keys and merge to nothing).
    const ops = this.prepare(nSeq, nSeq, maxLen, mode);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    let d = 0;
    for (let j = 0; j < k; j++) {
      d += this.encodeStep(pass, ops, mode, sp);
      d += sp.encodeAdvance(pass, nSeq);
    }
    pass.end();
    enc.copyBufferToBuffer(sp.out, 0, sp.outRead, 0, nSeq * MAX_DECODE_STEPS * 4);
    this.device.queue.submit([enc.finish()]);
    this.count(d, ops.useFused);
    const rows: Uint32Array[] = [];
    await this.read(sp.outRead, () => {
      const all = new Uint32Array(sp.outRead.getMappedRange(0, nSeq * MAX_DECODE_STEPS * 4));
      for (let i = 0; i < nSeq; i++) rows.push(all.slice(i * MAX_DECODE_STEPS, i * MAX_DECODE_STEPS + k));
    });
    return rows;
  }
}

type HeadMode = 'logits' | 'argmax' | 'sample';

interface PreparedStep {
  body: readonly StepOp[];
  headOp: StepOp;
  argmaxOp: StepOp | null;
  useFused: boolean;
}

function isGreedy(sampling: readonly SampleRequest[]): boolean {
  return sampling.every((s) => s.params.temperature <= 0 && s.params.repetitionPenalty === 1);
}
