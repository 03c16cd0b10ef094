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
import { type ArchBuffers, destroyArchBuffers, loadArchBuffers } from './arch-buffers.js';
import { buildFusedPlan, type FusedPlan, fusedDesign } from './fused-plan.js';
import { type Capacity, destroyBuffers, loadBuffers, type ProfileOverride, weightBytes } from './load.js';
import type { StepOp, StepShape } from './ops.js';
import { buildPlan, type DecoderBuffers, type DecoderPlan, planSlots } from './plan.js';

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
      return new WebGpuBackend(device, c, profile, cap, bufs, arena, plan, fused, archBufs);
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
        await this.runGroup(group, 'logits');
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
    const greedy = sampling.every((s) => s.params.temperature <= 0 && s.params.repetitionPenalty === 1);
    const out = new Int32Array(steps.length);
    if (!greedy) {
      // Temperature, top-k/p and penalties run on the CPU sampler over read-back logits.
      const logits = await this.forward(steps);
      for (let i = 0; i < steps.length; i++) {
        const s = sampling[i]!;
        out[i] = this.sampler.sample(logits[i]!, s.params, s.counter, s.recent);
      }
      return out;
    }
    return this.serial(async () => {
      this.stats.dispatches = 0;
      this.stats.submits = 0;
      this.stats.fusedSubmits = 0;
      for (let i = 0; i < steps.length; i += this.cap.maxSeqs) {
        const group = steps.slice(i, i + this.cap.maxSeqs);
        await this.runGroup(group, 'argmax');
        await this.read(this.sampledRead, () => {
          out.set(new Int32Array(this.sampledRead.getMappedRange(0, group.length * 4)), i);
        });
      }
      return out;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    destroyBuffers(this.bufs);
    destroyArchBuffers(this.archBufs);
    this.arena.destroy();
    this.logitsRead.destroy();
    this.sampledRead.destroy();
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
   * Runs a group of sequences. Tokens go in chunks of `maxTokens`; when they do not fit in one,
   * every sequence's last token is held back to a final chunk so the head runs once.
   */
  private async runGroup(steps: SequenceStep[], mode: 'logits' | 'argmax'): Promise<void> {
    const c = this.config;
    const { maxTokens, maxPages, pageSize, pageCount } = this.cap;
    this.pagesHost.fill(0);
    let total = 0;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      const end = s.startPos + s.tokens.length;
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
    const holdBack = total > maxTokens;
    let n = 0;
    let maxLen = 0;
    const flush = (head: boolean) => {
      if (n > 0) this.submit(n, steps.length, maxLen, head ? mode : null);
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
   * Encodes one chunk as one compute pass in one command buffer, and submits it. Chunks of at
   * most `profile.fused.maxTokens` tokens run on the fused kernels when the model has them.
   */
  private submit(T: number, nSeq: number, maxLen: number, head: 'logits' | 'argmax' | null): void {
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
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    let d = 0;
    for (const op of body) d += op.encode(pass, shape);
    if (head) d += headOp.encode(pass, shape);
    if (head === 'argmax' && argmaxOp) d += argmaxOp.encode(pass, shape);
    pass.end();
    if (head === 'logits')
      enc.copyBufferToBuffer(this.bufs.logits, 0, this.logitsRead, 0, nSeq * this.config.vocabSize * 4);
    if (head === 'argmax') enc.copyBufferToBuffer(this.bufs.sampled, 0, this.sampledRead, 0, nSeq * 4);
    device.queue.submit([enc.finish()]);
    this.stats.dispatches += d;
    this.stats.submits++;
    if (useFused) this.stats.fusedSubmits++;
  }
}
