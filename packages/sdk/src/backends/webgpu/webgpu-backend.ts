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
import { buildPlan, type DecoderBuffers, type DecoderPlan, planSlots } from './plan.js';
import { isGreedy, MAX_DECODE_STEPS, SamplePlan } from './sample-plan.js';
import { StepEncoder, type StepStats } from './step-encoder.js';

export type { StepStats };

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
  /**
   * The KV cache's precision, as the CPU backend's option: 'f16' (default) is llama.cpp's — q, K
   * and V rounded to f16 and the attention's value accumulator rounded to f16 at every key (its
   * flash attention) — so greedy tokens follow llama.cpp's at near-ties; 'f32' keeps attention
   * float (tests against the float reference use it). Either way a slot takes 4 bytes.
   */
  kvCache?: 'f16' | 'f32';
  /**
   * Inputs of block-quantized matrices: 'int8' (default) rounds them to the int8 blocks llama.cpp
   * dots each type against (Q8_0/Q8_1 per 32, Q8_K per 256) — with dp4a on GPUs that have it,
   * in place in the fused kernels of CPU-emulated adapters; 'f32' keeps them float. Prefill
   * chunks longer than the fused kernels take, on those adapters, and GPUs without dp4a multiply
   * float inputs either way.
   */
  activations?: 'int8' | 'f32';
}

/**
 * The WebGPU backend: our WGSL kernels over a paged KV cache. A step is one compute pass in one
 * command buffer (per chunk of `maxTokens` for long prefills; see step-encoder.ts). On GPUs the
 * general kernels run ~7 dispatches per layer (~10 where dp4a quantizes each matrix input); on
 * CPU-emulated adapters (SwiftShader, WARP, llvmpipe), where each dispatch and workgroup costs
 * tens of microseconds, steps of up to `profile.fused.maxTokens` tokens run one dispatch per
 * layer plus the classifier with argmax fused (see fused-plan.ts). `forwardSample` and `decode`
 * choose tokens on the GPU and read back only their ids; `decode` runs several steps per submit.
 */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly pageBytes: number;
  private lost: GPUDeviceLostInfo | null = null;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly steps: StepEncoder;
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
    plan: DecoderPlan,
    private readonly fused: FusedPlan | null,
    private readonly archBufs: ArchBuffers,
    private readonly cache: PipelineCache,
  ) {
    const c = config;
    this.pageBytes = c.nLayers * cap.pageSize * c.nKvHeads * c.headDim * 4 * 2;
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
    this.steps = new StepEncoder(device, c, profile, cap, bufs, arena, plan, fused, {
      logits: this.logitsRead,
      sampled: this.sampledRead,
    });
    device.lost.then((info) => {
      this.lost = info;
    });
  }

  /** Counters of the last call, for benchmarks. */
  get stats(): StepStats {
    return this.steps.stats;
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
    // The arithmetic's defaults (llama.cpp's) are the profile's; the options only override them.
    const profile: KernelProfile = { ...kernelProfile(info, device.features, wgsl), ...o.profile };
    if (o.kvCache) profile.kv = o.kvCache;
    if (o.activations) profile.xq = o.activations === 'int8' ? 'q8' : 'f32';
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
      // Load progress ends at 'ready': pipelines compiled later on first use (the sampler's) are
      // part of a request, and a late 'compile' event would read as the model loading again.
      let loading = true;
      const cache = new PipelineCache(device, 64, (_key, n) => {
        if (loading) o.onProgress?.({ phase: 'compile', pipelines: n });
      });
      const plan = await buildPlan(device, cache, arena, profile, c, bufs, cap, archBufs);
      const fused = design && (await buildFusedPlan(device, cache, arena, model, design, bufs, cap));
      arena.flush();
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      if (oom) throw new EdgeLMError('OUT_OF_MEMORY', `The GPU cannot hold the model: ${oom.message}`);
      if (validation) throw new EdgeLMError('GPU_ERROR', validation.message);
      loading = false;
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
      this.steps.resetStats();
      for (let i = 0; i < steps.length; i += this.cap.maxSeqs) {
        const group = steps.slice(i, i + this.cap.maxSeqs);
        this.steps.runGroup(group, 'logits');
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
    await sp?.ready(sampling);
    return this.serial(async () => {
      this.steps.resetStats();
      for (let i = 0; i < steps.length; i += this.cap.maxSeqs) {
        const group = steps.slice(i, i + this.cap.maxSeqs);
        sp?.stage(sampling.slice(i, i + this.cap.maxSeqs));
        this.steps.runGroup(group, sp ? 'sample' : 'argmax', sp);
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
    await sp.ready(sampling);
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

  /** One submission of `k` decode steps of one group; each sequence's `k` tokens. */
  private async decodeGroup(
    steps: SequenceStep[],
    sampling: SampleRequest[],
    k: number,
    sp: SamplePlan,
  ): Promise<Uint32Array[]> {
    this.steps.resetStats();
    this.steps.submitDecode(steps, sampling, k, sp);
    const nSeq = steps.length;
    const rows: Uint32Array[] = [];
    await this.read(sp.outRead, () => {
      const all = new Uint32Array(sp.outRead.getMappedRange(0, nSeq * MAX_DECODE_STEPS * 4));
      for (let i = 0; i < nSeq; i++) rows.push(all.slice(i * MAX_DECODE_STEPS, i * MAX_DECODE_STEPS + k));
    });
    return rows;
  }
}
