import { EdgeLMError } from '../../errors.js';

/**
 * The engine's KV pages, kept on the host for an ONNX decoder. The decoder itself only knows
 * contiguous `past_key_values` tensors, so the pages are the shared truth that sequences fork
 * from, while each running sequence keeps its own present tensors (on the GPU with WebGPU) and
 * writes back here only when another sequence needs the pages (see `OnnxBackend`).
 *
 * Every page has a version that any write bumps; a copy (the host copy, or a sequence's tensors)
 * is current for a page when it saw the page's latest version.
 */
export class KvPageStore {
  /** Per layer, K then V: (page, kvHead, slot, headDim). */
  private readonly data: Float32Array[];
  /** Latest version of each page. */
  readonly version: Uint32Array;
  /** The version the host copy of each page holds. */
  readonly hostVersion: Uint32Array;
  private readonly pageFloats: number;
  private readonly headFloats: number;

  constructor(
    readonly nLayers: number,
    readonly nKvHeads: number,
    readonly headDim: number,
    readonly pageSize: number,
    readonly pageCount: number,
  ) {
    this.headFloats = pageSize * headDim;
    this.pageFloats = nKvHeads * this.headFloats;
    try {
      this.data = Array.from({ length: 2 * nLayers }, () => new Float32Array(pageCount * this.pageFloats));
    } catch (e) {
      throw new EdgeLMError('OUT_OF_MEMORY', `Cannot allocate ${pageCount} KV pages`, { pageCount }, e);
    }
    this.version = new Uint32Array(pageCount);
    this.hostVersion = new Uint32Array(pageCount);
  }

  /** Bytes of one page across all layers, K and V. */
  get pageBytes(): number {
    return 2 * this.nLayers * this.pageFloats * 4;
  }

  /** Records a write to every page that positions [from, to) fall in. */
  bump(pages: Int32Array, from: number, to: number): void {
    for (let i = Math.floor(from / this.pageSize); i * this.pageSize < to; i++) this.version[pages[i]]++;
  }

  /**
   * Copies positions [from, to) of a sequence's tensor `t` (index = 2·layer + 0 for K, 1 for V),
   * shaped (1, kvHeads, length, headDim), into the pages.
   */
  scatter(t: number, src: Float32Array, length: number, pages: Int32Array, from: number, to: number): void {
    const dst = this.data[t];
    const d = this.headDim;
    for (let h = 0; h < this.nKvHeads; h++) {
      for (let p = from; p < to; ) {
        const slot = p % this.pageSize;
        const n = Math.min(this.pageSize - slot, to - p);
        const page = pages[Math.floor(p / this.pageSize)];
        const o = page * this.pageFloats + h * this.headFloats + slot * d;
        dst.set(src.subarray((h * length + p) * d, (h * length + p + n) * d), o);
        p += n;
      }
    }
  }

  /** Assembles positions [0, length) of tensor `t` into `out`, shaped (1, kvHeads, length, headDim). */
  gather(t: number, pages: Int32Array, length: number, out: Float32Array): void {
    const src = this.data[t];
    const d = this.headDim;
    for (let h = 0; h < this.nKvHeads; h++) {
      for (let p = 0; p < length; p += this.pageSize) {
        const n = Math.min(this.pageSize, length - p);
        const o = pages[p / this.pageSize] * this.pageFloats + h * this.headFloats;
        out.set(src.subarray(o, o + n * d), (h * length + p) * d);
      }
    }
  }
}
