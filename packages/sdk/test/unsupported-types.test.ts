/**
 * Types ggml defines but edgelm does not run (IQ3_S here) are read in the header, so `inspect`
 * can show the file, and refused when the model is loaded, naming the type and the tensor.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspect } from '../src/cli/commands/inspect.js';
import { EdgeLMError } from '../src/errors.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { GGMLType, typeName } from '../src/formats/ggml-types.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { readGgufHeader } from '../src/formats/gguf/reader.js';
import { modelsDir } from './helpers/models.js';

/**
 * Rewrites the type of tensor `name` in a GGUF header: Q3_K and IQ3_S blocks are both 110 bytes
 * per 256 values, so the file stays consistent and only the type differs.
 */
function retype(file: Uint8Array, name: string, type: number): Uint8Array {
  const out = file.slice();
  const key = new TextEncoder().encode(name);
  for (let i = 0; i < out.length - key.length; i++) {
    if (key.every((b, j) => out[i + j] === b) && out[i - 8] === key.length) {
      const v = new DataView(out.buffer);
      const nDims = v.getUint32(i + key.length, true);
      v.setUint32(i + key.length + 4 + 8 * nDims, type, true);
      return out;
    }
  }
  throw new Error(`no tensor ${name}`);
}

describe('types edgelm cannot run', () => {
  const q3 = new Uint8Array(readFileSync(join(modelsDir(), 'llamacpp', 'wide-Q3_K_M.gguf')));
  const tensor = 'blk.1.ffn_gate.weight';

  it('are read in the header and refused at load with the type and tensor named', async () => {
    const header = await readGgufHeader(bytesSource(q3));
    expect(typeName(header.tensors.find((t) => t.name === tensor)!.type)).toBe('Q3_K');
    const iq3 = retype(q3, tensor, GGMLType.IQ3_S);
    const h = await readGgufHeader(bytesSource(iq3));
    expect(h.tensors.find((t) => t.name === tensor)!.type).toBe(GGMLType.IQ3_S);
    const err = await openGguf(bytesSource(iq3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeLMError);
    expect((err as EdgeLMError).code).toBe('UNSUPPORTED_TYPE');
    expect((err as EdgeLMError).details).toMatchObject({ tensor, type: 'IQ3_S' });
    expect((err as EdgeLMError).message).toMatch(/"blk\.1\.ffn_gate\.weight" has type IQ3_S/);
  });

  it('are shown by inspect, with the reason the file does not load', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'edgelm-iq3-')), 'iq3.gguf');
    await writeFile(path, retype(q3, tensor, GGMLType.IQ3_S));
    const lines: string[] = [];
    await inspect(path, undefined, (s) => lines.push(s));
    expect(lines.some((l) => /^load +fails: UNSUPPORTED_TYPE: .*IQ3_S/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith(`tensor    ${tensor}`) && l.includes('IQ3_S'))).toBe(true);
    expect(lines.some((l) => /^bytes +IQ3_S +1 tensors/.test(l))).toBe(true);
  });

  it('still refuses a type number ggml does not define', async () => {
    const err = await readGgufHeader(bytesSource(retype(q3, tensor, 31))).catch((e: unknown) => e);
    expect((err as EdgeLMError).code).toBe('UNSUPPORTED_TYPE');
    expect((err as EdgeLMError).details).toMatchObject({ tensor, type: 'type#31' });
  });
});
