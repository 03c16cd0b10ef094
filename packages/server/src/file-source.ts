import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { EdgeLMError } from '@edgelm/sdk';
import type { ByteSource } from '@edgelm/sdk/formats';

/**
 * A model file on disk as a {@link ByteSource}: loaders read one tensor at a time, so a large
 * model is never held whole in memory. `close()` releases the file handle.
 */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path, 'r').catch((e: unknown) => {
    throw new EdgeLMError('NOT_FOUND', `Cannot open model file ${path}`, { path }, e);
  });
  const { size } = await handle.stat();
  return {
    size,
    name: basename(path),
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size)
        throw new EdgeLMError('TRUNCATED', `${path} ends at byte ${size}, wanted ${offset + length}`, {
          size,
          wanted: offset + length,
        });
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new EdgeLMError('TRUNCATED', `${path} shrank while reading`, { offset });
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}
