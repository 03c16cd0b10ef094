import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { type ConvertType, convertToGguf } from '../src/formats/convert.js';
import { GGMLType } from '../src/formats/ggml-types.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { dequantize } from '../src/formats/quant/index.js';
import { TensorName } from '../src/model/config.js';
import type { ModelFile, TensorInfo } from '../src/model/model-file.js';
import { openStories260K } from './helpers/models.js';

/** Converts into memory, recording the size of every write the sink receives. */
async function convert(
  model: ModelFile,
  type: ConvertType,
): Promise<{ bytes: Uint8Array; writes: number[] }> {
  const parts: Uint8Array[] = [];
  const total = await convertToGguf(model, type, {
    async write(b) {
      parts.push(b.slice());
    },
  });
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, writes: parts.map((p) => p.length) };
}

const count = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

async function floats(model: ModelFile, t: TensorInfo): Promise<Float32Array> {
  return dequantize(t.type, await model.readTensor(t), count(t));
}

describe('convert stories260K to GGUF', () => {
  let bin: ModelFile;
  beforeAll(async () => {
    bin = await openStories260K();
  });

  it('F32: reloads with bitwise-identical tensors, config and vocabulary', async () => {
    const { bytes, writes } = await convert(bin, 'f32');
    const gguf = await openGguf(bytesSource(bytes, 'stories260K.gguf'));
    // Streams one tensor per write (plus padding), never the whole file at once.
    expect(Math.max(...writes)).toBeLessThan(bytes.length / 4);
    expect(gguf.config).toEqual({ ...bin.config, normEps: Math.fround(bin.config.normEps) });
    expect(gguf.tokenizer.tokens).toEqual(bin.tokenizer.tokens);
    expect(gguf.tokenizer.scores).toEqual(bin.tokenizer.scores);
    expect([
      gguf.tokenizer.bos,
      gguf.tokenizer.eos,
      gguf.tokenizer.addBos,
      gguf.tokenizer.addSpacePrefix,
    ]).toEqual([bin.tokenizer.bos, bin.tokenizer.eos, bin.tokenizer.addBos, bin.tokenizer.addSpacePrefix]);
    // Byte tokens are typed so llama.cpp also reads the file.
    expect(gguf.tokenizer.tokenTypes?.[bin.tokenizer.tokens.indexOf('<0x0A>')]).toBe(6);
    expect(gguf.tensors.map((t) => t.name).sort()).toEqual(bin.tensors.map((t) => t.name).sort());
    for (const t of bin.tensors) {
      const g = gguf.tensors.find((x) => x.name === t.name)!;
      expect([g.type, g.shape], t.name).toEqual([GGMLType.F32, t.shape]);
      expect(Buffer.compare(await gguf.readTensor(g), await bin.readTensor(t)), t.name).toBe(0);
    }
  });

  for (const [type, bound] of [
    ['f16', 2 ** -11],
    ['q8_0', 1 / 127],
    ['q4_0', 1 / 7],
  ] as const) {
    it(`${type}: matrices in ${type}, 1-D tensors in F32, error per tensor within ${bound.toPrecision(3)}·max|w|`, async () => {
      const { bytes } = await convert(bin, type);
      const gguf = await openGguf(bytesSource(bytes));
      for (const t of bin.tensors) {
        const g = gguf.tensors.find((x) => x.name === t.name)!;
        const matrix = t.shape.length === 2;
        // stories260K's FFN rows are 172 wide, not whole 32-blocks: those fall back to F16. The
        // tied embedding is the output, which llama.cpp puts in Q6_K, or Q8_0 for 64-wide rows.
        const expected = !matrix
          ? GGMLType.F32
          : type === 'f16' || t.shape[0] % 32 !== 0
            ? GGMLType.F16
            : type === 'q8_0' || t.name === TensorName.tokenEmbd
              ? GGMLType.Q8_0
              : GGMLType.Q4_0;
        expect(g.type, t.name).toBe(expected);
        const x = await floats(bin, t);
        const y = await floats(gguf, g);
        let amax = 0;
        let err = 0;
        for (let i = 0; i < x.length; i++) {
          amax = Math.max(amax, Math.abs(x[i]));
          err = Math.max(err, Math.abs(x[i] - y[i]));
        }
        const tol = expected === GGMLType.F32 ? 0 : expected === GGMLType.F16 ? 2 ** -11 : bound;
        expect(err, t.name).toBeLessThanOrEqual(tol * amax + 1e-7);
      }
      expect(gguf.metadata['general.file_type']).toBe({ f16: 1, q8_0: 7, q4_0: 2 }[type]);
    });
  }

  it('requantizes GGUF → GGUF: Q8_0 → F32 equals dequantizing the Q8_0 file, Q8_0 → Q8_0 copies', async () => {
    const q8 = await openGguf(bytesSource((await convert(bin, 'q8_0')).bytes));
    const f32 = await openGguf(bytesSource((await convert(q8, 'f32')).bytes));
    const again = await openGguf(bytesSource((await convert(q8, 'q8_0')).bytes));
    for (const t of q8.tensors) {
      const a = f32.tensors.find((x) => x.name === t.name)!;
      const b = again.tensors.find((x) => x.name === t.name)!;
      expect(a.type).toBe(GGMLType.F32);
      expect(await floats(f32, a), t.name).toEqual(await floats(q8, t));
      expect(Buffer.compare(await again.readTensor(b), await q8.readTensor(t)), t.name).toBe(0);
    }
    expect(f32.tensors.some((t) => t.name === TensorName.output)).toBe(false);
  });
});
