import type * as Ort from 'onnxruntime-web';
import { check, EdgeLMError, toEdgeLMError } from '../../errors.js';
import { OnnxNames } from '../../formats/onnx/onnx-names.js';
import type { ModelConfig } from '../../model/config.js';
import type { Backend, SequenceStep, StepLogits } from '../backend.js';
import { KvPageStore } from './kv-pages.js';
import {
  hasWebGpu,
  loadOrt,
  type OrtExecutionProvider,
  type OrtModule,
  type OrtRuntimeOptions,
} from './ort-runtime.js';

/** Options of {@link OnnxBackend.create}. */
export interface OnnxBackendOptions extends OrtRuntimeOptions {
  /** Tried in order; default `['webgpu', 'wasm']` where the page has WebGPU, else `['wasm']`. */
  executionProviders?: OrtExecutionProvider[];
  /** Tokens per KV page (default 16). */
  pageSize?: number;
  /** Physical KV pages (default: enough for 4 full-context sequences). */
  pageCount?: number;
  /** Sequences whose present KV stays resident between steps (default 8); the oldest is written back to pages. */
  maxLiveSequences?: number;
}

/** A decoder exported by `exportOnnx` (or any Optimum-layout llama decoder) and its shape. */
export interface OnnxModelSource {
  model: Uint8Array;
  config: ModelConfig;
}

/** One sequence's present KV as the last run left it, resident where the session put it. */
interface LiveSequence {
  /** Physical page of each logical page; covers [0, length). */
  pages: Int32Array;
  /** The page version each logical page held when this copy was last in step with it. */
  seen: Uint32Array;
  length: number;
  /** present.N.key / present.N.value, index 2·layer + (0 key | 1 value): (1, kvHeads, length, headDim). */
  kv: Ort.Tensor[];
  lastUse: number;
}

/**
 * Runs an ONNX decoder with onnxruntime-web, WebGPU first and wasm as the fallback.
 *
 * The engine's paged KV maps onto the decoder's contiguous `past_key_values` like this: each
 * running sequence keeps the `present.*` tensors of its last step (on the GPU under WebGPU,
 * `preferredOutputLocation: 'gpu-buffer'`) and feeds them back as the next step's past, so a decode
 * step moves only token ids in and logits out. The pages themselves live in a host
 * {@link KvPageStore} with per-page versions. A step whose prefix no resident sequence holds at
 * the right length — a new request reusing a cached prefix, a fork, a rollback — is assembled
 * from the pages, after writing back (reading back, under WebGPU) whichever resident sequence
 * holds their latest contents. Page sharing is therefore real, but resolved on the host: ONNX
 * tensors cannot alias another tensor's rows, so two sequences sharing a prefix each hold a copy
 * of it on the device.
 *
 * Sequences of one `forward` call run one after another with batch 1: the decoder's single
 * `past_sequence_length` cannot hold sequences of different lengths without padding them all.
 *
 * @example
 * ```ts
 * const { model, config } = await exportOnnx(modelFile, { weights: 'f32' });
 * const backend = await OnnxBackend.create({ model, config: modelFile.config });
 * const [logits] = await backend.forward([{ tokens: [1, 403], startPos: 0, pages: Int32Array.of(0) }]);
 * ```
 */
export class OnnxBackend implements Backend {
  readonly name = 'onnx' as const;
  readonly pageBytes: number;
  private readonly live: LiveSequence[] = [];
  private readonly maxLogicalPages: number;
  // int64 inputs, allocated once; each step views a prefix of them
  private readonly ids: BigInt64Array;
  private readonly positions: BigInt64Array;
  private readonly ones: BigInt64Array;
  private readonly emptyPast: Ort.Tensor;
  private clock = 0;
  private disposed = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    /** The execution provider the session runs on. */
    readonly executionProvider: OrtExecutionProvider,
    readonly config: ModelConfig,
    private readonly pagesStore: KvPageStore,
    private readonly maxLive: number,
  ) {
    this.pageBytes = pagesStore.pageBytes;
    this.maxLogicalPages = Math.ceil(config.contextLength / pagesStore.pageSize);
    this.ids = new BigInt64Array(config.contextLength);
    this.positions = new BigInt64Array(config.contextLength);
    this.ones = new BigInt64Array(config.contextLength).fill(1n);
    this.emptyPast = new ort.Tensor('float32', new Float32Array(0), [1, config.nKvHeads, 0, config.headDim]);
  }

  get pageSize(): number {
    return this.pagesStore.pageSize;
  }

  get pageCount(): number {
    return this.pagesStore.pageCount;
  }

  static async create(source: OnnxModelSource, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const c = source.config;
    const pageSize = options.pageSize ?? 16;
    const pageCount = options.pageCount ?? 4 * Math.ceil(c.contextLength / pageSize);
    check(pageSize > 0 && pageCount > 0, 'INVALID_ARGUMENT', 'pageSize and pageCount must be positive');
    const ort = await loadOrt(options);
    const providers = options.executionProviders ?? (hasWebGpu() ? ['webgpu', 'wasm'] : ['wasm']);
    const kvOutputs = Array.from({ length: c.nLayers }, (_, l) => [
      OnnxNames.presentKey(l),
      OnnxNames.presentValue(l),
    ]).flat();
    const failures: string[] = [];
    for (const ep of providers) {
      try {
        const session = await ort.InferenceSession.create(source.model, {
          executionProviders: [ep],
          graphOptimizationLevel: 'all',
          // The KV stays on the device between steps; only logits come back.
          preferredOutputLocation:
            ep === 'webgpu'
              ? Object.fromEntries([...kvOutputs.map((n) => [n, 'gpu-buffer']), [OnnxNames.logits, 'cpu']])
              : 'cpu',
        });
        const store = new KvPageStore(c.nLayers, c.nKvHeads, c.headDim, pageSize, pageCount);
        return new OnnxBackend(ort, session, ep, c, store, options.maxLiveSequences ?? 8);
      } catch (e) {
        failures.push(`${ep}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    throw new EdgeLMError('NO_BACKEND', `onnxruntime-web could not start: ${failures.join('; ')}`, {
      providers: providers.join(','),
    });
  }

  async forward(steps: SequenceStep[]): Promise<StepLogits> {
    if (this.disposed) throw new EdgeLMError('DISPOSED', 'The ONNX backend was disposed');
    const out: StepLogits = [];
    try {
      for (const step of steps) out.push(await this.step(step));
    } catch (e) {
      throw toEdgeLMError(e, 'INTERNAL');
    }
    return out;
  }

  private validate(step: SequenceStep): void {
    const n = step.tokens.length;
    const end = step.startPos + n;
    check(n > 0, 'INVALID_ARGUMENT', 'A step needs at least one token');
    if (end > this.config.contextLength) {
      throw new EdgeLMError(
        'CONTEXT_OVERFLOW',
        `Position ${end - 1} is past the context of ${this.config.contextLength}`,
      );
    }
    const need = Math.ceil(end / this.pageSize);
    check(step.pages.length >= need, 'INVALID_ARGUMENT', `The step needs ${need} pages`, {
      pages: step.pages.length,
    });
    for (let i = 0; i < need; i++) {
      const p = step.pages[i];
      check(p >= 0 && p < this.pageCount, 'INVALID_ARGUMENT', `Page ${p} does not exist`, { page: p });
    }
  }

  private async step(step: SequenceStep): Promise<Float32Array> {
    this.validate(step);
    const c = this.config;
    const n = step.tokens.length;
    const start = step.startPos;
    const end = start + n;
    let seq = this.findLive(step);
    if (!seq) seq = await this.resume(step);

    for (let i = 0; i < n; i++) {
      this.ids[i] = BigInt(step.tokens[i]);
      this.positions[i] = BigInt(start + i);
    }
    const ort = this.ort;
    const feeds: Record<string, Ort.Tensor> = {
      [OnnxNames.inputIds]: new ort.Tensor('int64', this.ids.subarray(0, n), [1, n]),
      [OnnxNames.attentionMask]: new ort.Tensor('int64', this.ones.subarray(0, end), [1, end]),
      [OnnxNames.positionIds]: new ort.Tensor('int64', this.positions.subarray(0, n), [1, n]),
    };
    for (let l = 0; l < c.nLayers; l++) {
      feeds[OnnxNames.pastKey(l)] = seq.kv[2 * l];
      feeds[OnnxNames.pastValue(l)] = seq.kv[2 * l + 1];
    }
    const result = await this.session.run(feeds);
    for (const t of seq.kv) if (t !== this.emptyPast) t.dispose();
    for (let l = 0; l < c.nLayers; l++) {
      seq.kv[2 * l] = result[OnnxNames.presentKey(l)];
      seq.kv[2 * l + 1] = result[OnnxNames.presentValue(l)];
    }

    // This sequence now holds the latest contents of the pages it wrote.
    this.pagesStore.bump(step.pages, start, end);
    const logicalPages = Math.ceil(end / this.pageSize);
    seq.pages.set(step.pages.subarray(0, logicalPages));
    for (let i = Math.floor(start / this.pageSize); i < logicalPages; i++) {
      seq.seen[i] = this.pagesStore.version[step.pages[i]];
    }
    seq.length = end;
    seq.lastUse = ++this.clock;

    const logits = result[OnnxNames.logits].data as Float32Array;
    const v = c.vocabSize;
    return logits.slice((n - 1) * v, n * v);
  }

  /** A resident sequence that can continue this step as is: same pages, same length, nothing rewritten. */
  private findLive(step: SequenceStep): LiveSequence | undefined {
    const version = this.pagesStore.version;
    const used = Math.ceil(step.startPos / this.pageSize);
    return this.live.find((s) => {
      if (s.length !== step.startPos) return false;
      for (let i = 0; i < used; i++) {
        if (s.pages[i] !== step.pages[i] || s.seen[i] !== version[step.pages[i]]) return false;
      }
      return true;
    });
  }

  /** Starts a resident sequence from the pages: brings them up to date on the host, then uploads the past. */
  private async resume(step: SequenceStep): Promise<LiveSequence> {
    const c = this.config;
    const store = this.pagesStore;
    const length = step.startPos;
    const used = Math.ceil(length / this.pageSize);
    for (let i = 0; i < used; i++) {
      const p = step.pages[i];
      if (store.hostVersion[p] === store.version[p]) continue;
      const holder = this.live.find((s) => s.pages.some((q, j) => q === p && s.seen[j] === store.version[p]));
      if (!holder) throw new EdgeLMError('INTERNAL', `No copy of KV page ${p} is current`, { page: p });
      await this.writeBack(holder);
    }
    const kv: Ort.Tensor[] = [];
    for (let t = 0; t < 2 * c.nLayers; t++) {
      if (length === 0) {
        kv.push(this.emptyPast);
        continue;
      }
      const data = new Float32Array(c.nKvHeads * length * c.headDim);
      store.gather(t, step.pages, length, data);
      kv.push(new this.ort.Tensor('float32', data, [1, c.nKvHeads, length, c.headDim]));
    }
    const seq: LiveSequence = {
      pages: new Int32Array(this.maxLogicalPages).fill(-1),
      seen: new Uint32Array(this.maxLogicalPages),
      length,
      kv,
      lastUse: ++this.clock,
    };
    seq.pages.set(step.pages.subarray(0, used));
    for (let i = 0; i < used; i++) seq.seen[i] = store.version[step.pages[i]];
    this.live.push(seq);
    if (this.live.length > this.maxLive) await this.evictOldest(seq);
    return seq;
  }

  /** Copies the pages this sequence holds the latest version of back to the host store. */
  private async writeBack(seq: LiveSequence): Promise<void> {
    const store = this.pagesStore;
    const stale: number[] = [];
    for (let i = 0; i * this.pageSize < seq.length; i++) {
      const p = seq.pages[i];
      if (seq.seen[i] === store.version[p] && store.hostVersion[p] !== store.version[p]) stale.push(i);
    }
    if (stale.length === 0) return;
    for (let t = 0; t < seq.kv.length; t++) {
      const data = (await seq.kv[t].getData()) as Float32Array;
      for (const i of stale) {
        const from = i * this.pageSize;
        store.scatter(t, data, seq.length, seq.pages, from, Math.min(seq.length, from + this.pageSize));
      }
    }
    for (const i of stale) store.hostVersion[seq.pages[i]] = store.version[seq.pages[i]];
  }

  private async evictOldest(keep: LiveSequence): Promise<void> {
    let oldest: LiveSequence | undefined;
    for (const s of this.live) if (s !== keep && (!oldest || s.lastUse < oldest.lastUse)) oldest = s;
    if (!oldest) return;
    await this.writeBack(oldest);
    for (const t of oldest.kv) if (t !== this.emptyPast) t.dispose();
    this.live.splice(this.live.indexOf(oldest), 1);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.live) for (const t of s.kv) if (t !== this.emptyPast) t.dispose();
    this.live.length = 0;
    void this.session.release();
  }
}
