import { sha256Hex } from '../../cache/digest.js';
import type { ByteSource } from '../../formats/byte-source.js';

const HEAD = 1 << 20;
const TAIL = 1 << 16;

/**
 * A cheap identity for response-cache keys: SHA-256 over the size, the first MiB (header,
 * metadata, vocabulary, first tensors) and the last 64 KiB. Two different files that agree on
 * all of that would share answers; two copies of one file always do, wherever they came from.
 */
export async function modelDigest(src: ByteSource): Promise<string> {
  const head = await src.read(0, Math.min(HEAD, src.size));
  const tailStart = Math.max(head.byteLength, src.size - TAIL);
  const tail = await src.read(tailStart, src.size - tailStart);
  const size = new TextEncoder().encode(`${src.size}:`);
  const all = new Uint8Array(size.byteLength + head.byteLength + tail.byteLength);
  all.set(size, 0);
  all.set(head, size.byteLength);
  all.set(tail, size.byteLength + head.byteLength);
  return sha256Hex(all);
}
