import { EdgeLMError } from '../../../errors.js';

const PAGE = 65536;
/** wasm32 addresses stop at 4 GiB. */
const MAX_BYTES = 65536 * PAGE;

/**
 * The linear memory the kernels work in, filled by a bump allocator that grows the memory as
 * tensors arrive. Once the backend is built the heap is sealed: nothing grows afterwards, so
 * typed views taken then stay valid for the backend's life (a grow would detach them).
 */
export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top = 16; // offset 0 stays unused so a zero pointer is never a live buffer
  private sealed = false;

  constructor(initialBytes = PAGE) {
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(initialBytes / PAGE)) });
  }

  /** Bytes handed out so far. */
  get used(): number {
    return this.top;
  }

  /**
   * Grows the memory once to hold `bytes` more than is used, so loading a model tensor by
   * tensor does not grow it hundreds of times (a grow may move the buffer).
   */
  reserve(bytes: number): void {
    const end = Math.min(MAX_BYTES, this.top + bytes);
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    try {
      this.memory.grow(Math.ceil((end - have) / PAGE));
    } catch {
      // no room for the whole reservation: alloc grows step by step and fails typed where it must
    }
  }

  /** A 16-byte aligned block of `bytes` (zeroed: fresh memory is). */
  alloc(bytes: number): number {
    if (this.sealed) throw new EdgeLMError('INTERNAL', 'The wasm heap is sealed; views would detach');
    const at = this.top;
    const end = at + Math.ceil(bytes / 16) * 16;
    if (end > MAX_BYTES) {
      throw new EdgeLMError('OUT_OF_MEMORY', `The CPU kernels need ${end} bytes, past wasm32's 4 GiB`, {
        bytes: end,
      });
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        throw new EdgeLMError(
          'OUT_OF_MEMORY',
          `Cannot grow the wasm memory to ${end} bytes`,
          { bytes: end },
          e,
        );
      }
    }
    this.top = end;
    return at;
  }

  /** Copies `data` into a new block and returns its offset. */
  store(data: Float32Array | Int8Array | Uint8Array): number {
    const at = this.alloc(data.byteLength);
    new Uint8Array(this.memory.buffer, at, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return at;
  }

  /** No more allocations: views taken from now on stay attached. */
  seal(): void {
    this.sealed = true;
  }

  f32(at: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, n);
  }

  f64(at: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer, at, n);
  }

  i32(at: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, n);
  }

  i8(at: number, n: number): Int8Array {
    return new Int8Array(this.memory.buffer, at, n);
  }

  u8(at: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, at, n);
  }
}
