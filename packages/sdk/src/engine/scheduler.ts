import type { FinishReason } from '../api/types.js';
import type { Backend, SequenceStep } from '../backends/backend.js';
import { EdgeLMError, toEdgeLMError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { PagePool } from './kv/page-pool.js';
import type { PrefixCache } from './kv/prefix-cache.js';
import type { Request } from './request.js';

/** Options of the {@link Scheduler}. */
export interface SchedulerOptions {
  /** Most sequences decoded together; 1 turns continuous batching off (requests run one at a time). */
  maxBatch: number;
  /** Most prompt tokens computed in one step, so a long prompt does not stall running decodes. */
  prefillChunk: number;
  /** Longest a multi-step decode call should take (see {@link DECODE_BUDGET_MS}). */
  decodeBudgetMs?: number;
}

/** Decode steps one multi-step call runs at most (see `Scheduler.decodeSteps`). */
const MAX_DECODE_BATCH = 16;
/**
 * Longest a multi-step call should take, about one display frame: tokens reach the stream in
 * bursts of at most this long, so text still grows smoothly, while a fast model (a few ms per
 * step, where the per-call round trip matters) gets most of the batching gain. A slow model
 * (tens of ms per step) decodes one step per call: batching would only make its stream jerky.
 */
const DECODE_BUDGET_MS = 16;
/** Steps of the first multi-step call, before any step time is known. */
const FIRST_DECODE_BATCH = 4;

/** Hands control back to the event loop so aborts and new requests are seen between steps. */
const yieldToLoop: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((r) => setImmediate(r))
    : () => {
        const ch = new MessageChannel();
        return new Promise((r) => {
          ch.port1.onmessage = () => r();
          ch.port2.postMessage(0);
        });
      };

/**
 * Continuous batching: requests join the running batch at token boundaries and leave when
 * done. Each step runs one prefill chunk (round-robin over requests still reading their
 * prompt) together with one decode token for every request already generating, so no request
 * starves and long prompts do not freeze streams in flight.
 */
export class Scheduler {
  private readonly waiting: Request[] = [];
  private readonly active: Request[] = [];
  private loop: Promise<void> | null = null;
  private prefillTurn = 0;
  /** Milliseconds per decode step (see `observeStep`); -1 before the first. */
  private stepMs = -1;
  private readonly recentStepMs = new Float64Array(8);
  private stepObservations = 0;
  onFinish: (r: Request) => void = () => {};

  constructor(
    private readonly backend: Backend,
    private readonly pool: PagePool,
    private readonly prefix: PrefixCache,
    private readonly tokenizer: Tokenizer,
    private readonly options: SchedulerOptions,
    private readonly contextLength: number,
  ) {}

  get queueDepth(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active.length;
  }

  submit(r: Request): void {
    this.waiting.push(r);
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
  }

  /** Resolves once every submitted request has finished. */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.active.length < this.options.maxBatch) {
      const r = this.waiting.shift()!;
      if (r.aborted) {
        this.finish(r, 'abort');
        continue;
      }
      // Keep one prompt token to compute: logits are not cached, only K/V.
      r.prefix = this.prefix.match(r.tokens, r.tokens.length - 1);
      r.pages = [...r.prefix.pages];
      r.pageTable = Int32Array.from(r.pages);
      r.computed = r.prefix.tokens;
      r.prefixTokensReused = r.prefix.tokens;
      this.active.push(r);
    }
  }

  /** Makes sure `r` has pages for positions below `until`; false when the pool is exhausted. */
  private reserve(r: Request, until: number): boolean {
    const need = Math.ceil(until / this.prefix.pageSize) - r.pages.length;
    if (need <= 0) return true;
    if (this.pool.available < need && !this.prefix.evict(need)) return false;
    for (let i = 0; i < need; i++) r.pages.push(this.pool.tryAllocate());
    r.pageTable = Int32Array.from(r.pages);
    return true;
  }

  private async run(): Promise<void> {
    while (this.waiting.length > 0 || this.active.length > 0) {
      this.admit();
      for (const r of [...this.active]) if (r.aborted) this.finish(r, 'abort');
      if (this.active.length === 0) continue;
      if (await this.decodeSeveral()) {
        await yieldToLoop();
        continue;
      }

      const batch: Request[] = [];
      const steps: SequenceStep[] = [];
      const prefilling = this.active.filter((r) => r.generated.length === 0);
      if (prefilling.length > 0) {
        const r = prefilling[this.prefillTurn++ % prefilling.length]!;
        const end = Math.min(r.tokens.length, r.computed + this.options.prefillChunk);
        if (this.reserve(r, end)) {
          batch.push(r);
          steps.push({
            tokens: r.tokens.slice(r.computed, end),
            startPos: r.computed,
            pages: r.pageTable,
          });
        }
      }
      for (const r of this.active) {
        if (r.generated.length === 0) continue;
        if (!this.reserve(r, r.tokens.length)) continue;
        batch.push(r);
        r.lastToken[0] = r.tokens[r.tokens.length - 1]!;
        steps.push({
          // Tokens a grammar forced (jump-forward) are computed together in one step.
          tokens: r.computed < r.tokens.length - 1 ? r.tokens.slice(r.computed) : r.lastToken,
          startPos: r.computed,
          pages: r.pageTable,
        });
      }
      if (steps.length === 0) {
        // Every runnable request is waiting for KV pages that only finishing requests free:
        // end the newest so the others make progress.
        const victim = this.active[this.active.length - 1]!;
        this.fail(
          victim,
          new EdgeLMError('OUT_OF_MEMORY', 'The KV cache is full', { pages: this.pool.pageCount }),
        );
        continue;
      }

      // Backends that sample on the device read back one token id per sequence, not logits; a
      // batch with a grammar-constrained sequence reads logits back and masks them here.
      let next: ArrayLike<number>;
      try {
        if (this.backend.forwardSample && !batch.some((r) => r.grammar)) {
          const sampling = batch.map((r) => ({
            params: r.sampling,
            counter: r.tokens.length,
            recent: r.tokens,
          }));
          const t0 = performance.now();
          next = await this.backend.forwardSample(steps, sampling);
          // One decode step per sequence: the step time that sizes multi-step calls.
          if (steps.every((st) => st.tokens.length === 1)) this.observeStep(performance.now() - t0);
        } else {
          const logits = await this.backend.forward(steps);
          next = batch.map((r, i) => {
            if (r.computed + steps[i]!.tokens.length < r.tokens.length) return -1;
            let mask: Uint32Array | undefined;
            try {
              mask = this.maskOf(r);
            } catch (e) {
              this.fail(r, e); // only this request: the others' steps are fine
              return -1;
            }
            return r.sampler.sample(logits[i]!, r.sampling, r.tokens.length, r.tokens, mask);
          });
        }
      } catch (e) {
        for (const r of [...this.active]) this.fail(r, e);
        continue;
      }
      batch.forEach((r, i) => {
        r.computed += steps[i]!.tokens.length;
        if (r.computed < r.tokens.length) return; // more prompt to read
        if (r.generated.length === 0) r.prefillDoneAt = performance.now();
        this.accept(r, next[i]!);
      });
      await yieldToLoop();
    }
  }

  /**
   * When every active request is only decoding (no prompt left, no grammar, whose masks the CPU
   * makes per token), runs several decode steps in one backend call: pages are reserved for all
   * of them, then tokens are accepted one by one as if they had come one per step (EOS, stop
   * strings, maxTokens, context); a request that finishes mid-batch drops the rest, whose K/V
   * lies past `computed` and is overwritten later. False when the step must run the usual way.
   */
  private async decodeSeveral(): Promise<boolean> {
    const decode = this.backend.decode?.bind(this.backend);
    const batch = this.active;
    if (!decode || batch.length === 0) return false;
    for (const r of batch) {
      if (r.generated.length === 0 || r.grammar || r.computed !== r.tokens.length - 1) return false;
    }
    const n = this.decodeSteps(batch);
    if (n < 2) return false;
    for (const r of batch) if (!this.reserve(r, r.tokens.length - 1 + n)) return false;
    const steps = batch.map((r) => {
      r.lastToken[0] = r.tokens[r.tokens.length - 1]!;
      return { tokens: r.lastToken, startPos: r.computed, pages: r.pageTable };
    });
    const sampling = batch.map((r) => ({ params: r.sampling, counter: r.tokens.length, recent: r.tokens }));
    const members = [...batch];
    let out: Int32Array;
    try {
      const t0 = performance.now();
      out = await decode(steps, sampling, n);
      this.observeStep((performance.now() - t0) / n);
    } catch (e) {
      for (const r of [...this.active]) this.fail(r, e);
      return true;
    }
    members.forEach((r, i) => {
      for (let k = 0; k < n && !r.finish; k++) {
        r.computed++;
        this.accept(r, out[i * n + k]!);
      }
    });
    return true;
  }

  /**
   * The step time is the least of the last few observed: a call that also compiled a pipeline
   * (the sampler's first use takes seconds on an emulator) must not stop multi-step decoding,
   * while a lasting slow-down (a longer context, a bigger batch) shows within a few steps.
   */
  private observeStep(ms: number): void {
    const recent = this.recentStepMs;
    recent[this.stepObservations++ % recent.length] = ms;
    let least = ms;
    for (let i = Math.min(this.stepObservations, recent.length) - 1; i >= 0; i--)
      least = Math.min(least, recent[i]!);
    this.stepMs = least;
  }

  /**
   * Steps per multi-step decode: as many as fit {@link DECODE_BUDGET_MS} at the measured time
   * per step, up to 16, never more than the longest request still wants or the context leaves
   * the shortest, and only a few while requests wait for a free slot, so they are admitted soon
   * after one finishes.
   */
  private decodeSteps(batch: readonly Request[]): number {
    let want = 0;
    let room = Number.POSITIVE_INFINITY;
    for (const r of batch) {
      want = Math.max(want, r.maxTokens - r.generated.length);
      room = Math.min(room, this.contextLength - r.tokens.length);
    }
    const limit = this.options.decodeBudgetMs ?? DECODE_BUDGET_MS;
    const budget = this.stepMs < 0 ? FIRST_DECODE_BATCH : Math.floor(limit / this.stepMs);
    const cap = Math.min(this.waiting.length > 0 ? 2 : MAX_DECODE_BATCH, budget);
    return Math.max(0, Math.min(cap, want, room));
  }

  /** The grammar's mask for `r`'s next token; a grammar no token can continue fails the request. */
  private maskOf(r: Request): Uint32Array | undefined {
    if (!r.grammar) return undefined;
    const mask = r.grammar.mask(r.tokensLeft(this.contextLength));
    if (!mask.some((w) => w !== 0))
      throw new EdgeLMError('INVALID_ARGUMENT', 'No token of the vocabulary continues the grammar here', {
        request: r.id,
      });
    return mask;
  }

  /** Streams the token chosen for `r` and any the grammar forces after it, or finishes `r`. */
  private accept(r: Request, next: number): void {
    if (!this.emit(r, next) || !r.grammar) return;
    try {
      r.grammar.accept(next);
      if (r.grammar.finished) {
        this.finish(r, 'stop');
        return;
      }
      for (const t of r.grammar.forcedTokens()) {
        if (r.tokensLeft(this.contextLength) <= 0) break;
        if (!this.emit(r, t)) return;
        r.grammar.accept(t);
      }
      if (r.grammar.finished && !r.finish) this.finish(r, 'stop');
    } catch (e) {
      this.fail(r, e);
    }
  }

  /** Streams one token; false when `r` finished instead. */
  private emit(r: Request, next: number): boolean {
    if (r.finish) return false;
    if (r.aborted) {
      this.finish(r, 'abort');
      return false;
    }
    if (this.tokenizer.isEndOfGeneration(next)) {
      this.finish(r, 'stop');
      return false;
    }
    r.tokens.push(next);
    r.generated.push(next);
    if (r.firstTokenAt === 0) r.firstTokenAt = performance.now();
    const { emit, stopped } = r.stop.push(r.decoder.push(next));
    r.text += emit;
    r.chunks.push({ text: emit, token: next });
    if (stopped) {
      this.finish(r, 'stop');
      return false;
    }
    if (r.generated.length >= r.maxTokens || r.tokens.length >= this.contextLength) {
      this.finish(r, 'length');
      return false;
    }
    return true;
  }

  private release(r: Request): void {
    const i = this.active.indexOf(r);
    if (i >= 0) this.active.splice(i, 1);
    const w = this.waiting.indexOf(r);
    if (w >= 0) this.waiting.splice(w, 1);
    // Full pages of computed tokens go to the prefix cache; the rest back to the pool.
    this.prefix.insert(r.tokens, r.pages, r.computed);
    this.prefix.release(r.prefix?.handle ?? null);
    r.pages = [];
    r.prefix = null;
  }

  private finish(r: Request, reason: FinishReason): void {
    if (r.finish) return;
    r.finish = reason;
    const tail = r.stop.push(r.decoder.flush());
    const rest = tail.emit + (tail.stopped ? '' : r.stop.flush());
    if (rest) {
      r.text += rest;
      r.chunks.push({ text: rest, token: -1 });
    }
    this.release(r);
    this.onFinish(r);
  }

  private fail(r: Request, e: unknown): void {
    if (r.finish) return;
    r.finish = 'abort';
    this.release(r);
    const err = toEdgeLMError(e);
    r.chunks.close(err);
    r.reject(err);
  }
}
