import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { EdgeLMError } from '../errors.js';
import type { ByteSource } from '../formats/byte-source.js';

/**
 * A model file on disk read at offsets, so a multi-gigabyte GGUF is never loaded whole.
 *
 * @example
 * ```ts
 * const model = await openModel(await fileSource('model.gguf'));
 * ```
 */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new EdgeLMError('NOT_FOUND', `Cannot open ${path}: ${(e as Error).message}`, { path }, e);
  }
  const handle = await open(path, 'r');
  return {
    size,
    name: basename(path),
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new EdgeLMError('TRUNCATED', `${path} ends at byte ${size}, wanted ${offset + length}`, {
          size,
        });
      }
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new EdgeLMError('TRUNCATED', `${path} shrank while reading`, { path });
        done += bytesRead;
      }
      return buf;
    },
    close: () => handle.close(),
  };
}

/** A GGUF sink writing to a file. */
export async function fileSink(
  path: string,
): Promise<{ write(b: Uint8Array): Promise<void>; close(): Promise<void> }> {
  const handle = await open(path, 'w');
  return {
    async write(b) {
      let done = 0;
      while (done < b.byteLength) done += (await handle.write(b, done, b.byteLength - done)).bytesWritten;
    },
    close: () => handle.close(),
  };
}
