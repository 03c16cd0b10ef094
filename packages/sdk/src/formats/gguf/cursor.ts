import { EdgeLMError } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';

const FIRST_CHUNK = 64 << 10;
const MAX_CHUNK = 4 << 20;

/**
 * Sequential little-endian reads over a ByteSource through a window of bounded size, so a
 * header is parsed without the file in memory and without one request per value. Callers ask
 * `ensure(n)` first (it returns a promise only when the window must move), then read sync.
 */
export class ChunkedCursor {
  /** Absolute file offset of the next read. */
  pos = 0;
  private window: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.window.buffer);
  private windowStart = 0;
  private chunk = FIRST_CHUNK;
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(
    private readonly source: ByteSource,
    /** Reads past this offset are LIMIT_EXCEEDED (the header byte budget). */
    private readonly limitEnd: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Bytes between the cursor and the end of the file. */
  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** True when `n` bytes at `pos` are in the window (no read needed). */
  has(n: number): boolean {
    return this.pos + n <= this.windowStart + this.window.length;
  }

  /** Makes `n` bytes readable at `pos`; `what` names the field for the error message. */
  ensure(n: number, what: string): Promise<void> | undefined {
    if (this.pos + n <= this.windowStart + this.window.length) return undefined;
    return this.fill(n, what);
  }

  private async fill(n: number, what: string): Promise<void> {
    if (this.pos + n > this.source.size) {
      throw new EdgeLMError(
        'TRUNCATED',
        `${this.source.name} ends at byte ${this.source.size} inside ${what} (needs ${n} bytes at ${this.pos})`,
        { offset: this.pos, wanted: n, size: this.source.size },
      );
    }
    if (this.pos + n > this.limitEnd) {
      throw new EdgeLMError('LIMIT_EXCEEDED', `GGUF header is larger than ${this.limitEnd} bytes`, {
        offset: this.pos,
        limit: this.limitEnd,
      });
    }
    // Grow the window geometrically: small headers cost one read, big vocabularies a few.
    const length = Math.min(this.source.size - this.pos, Math.max(n, this.chunk));
    this.chunk = Math.min(this.chunk * 2, MAX_CHUNK);
    const bytes = await this.source.read(this.pos, length, this.signal);
    if (bytes.byteLength < n) {
      throw new EdgeLMError('TRUNCATED', `${this.source.name} returned ${bytes.byteLength} of ${n} bytes`, {
        offset: this.pos,
      });
    }
    this.window = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.windowStart = this.pos;
  }

  private take(n: number): number {
    const at = this.pos - this.windowStart;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }
  i8(): number {
    return this.view.getInt8(this.take(1));
  }
  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.take(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.take(4), true);
  }
  f32(): number {
    return this.view.getFloat32(this.take(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }
  i64(): bigint {
    return this.view.getBigInt64(this.take(8), true);
  }
  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return this.window.subarray(at, at + n);
  }
  /** UTF-8 text; invalid sequences decode to U+FFFD as llama.cpp keeps them as raw bytes. */
  text(n: number): string {
    const at = this.take(n);
    const bytes = this.window.subarray(at, at + n);
    // Vocabulary entries are short; TextDecoder's per-call cost dominates there.
    return (n <= 32 && decodeShortUtf8(bytes)) || this.utf8.decode(bytes);
  }

  /**
   * A length-prefixed string when it lies wholly in the window and within `maxBytes`;
   * otherwise undefined with nothing consumed (the caller takes the checked, async path).
   */
  bufferedString(maxBytes: number): string | undefined {
    if (!this.has(8)) return undefined;
    const at = this.pos - this.windowStart;
    const n = this.view.getUint32(at, true);
    if (this.view.getUint32(at + 4, true) !== 0 || n > maxBytes || !this.has(8 + n)) return undefined;
    this.pos += 8;
    return this.text(n);
  }
}

/**
 * Decodes well-formed UTF-8 by hand; returns undefined (leaving TextDecoder to produce the
 * replacement characters) at the first ill-formed sequence, and for the empty string.
 */
function decodeShortUtf8(b: Uint8Array): string | undefined {
  let s = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    let cp: number;
    let len: number;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if (c >= 0xc2 && c < 0xe0) {
      cp = c & 0x1f;
      len = 2;
    } else if (c >= 0xe0 && c < 0xf0) {
      cp = c & 0x0f;
      len = 3;
    } else if (c >= 0xf0 && c < 0xf5) {
      cp = c & 0x07;
      len = 4;
    } else return undefined;
    if (i + len > b.length) return undefined;
    for (let k = 1; k < len; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are ill-formed.
    if (
      (len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
      (len === 4 && (cp < 0x10000 || cp > 0x10ffff))
    ) {
      return undefined;
    }
    s += String.fromCodePoint(cp);
    i += len;
  }
  return s || undefined;
}
