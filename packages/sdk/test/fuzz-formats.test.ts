import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeLMError } from '../src/errors.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGgufBytes } from '../src/formats/convert.js';
import { readGgufHeader } from '../src/formats/gguf/reader.js';
import { openModel } from '../src/formats/open-model.js';
import { dequantize } from '../src/formats/quant/index.js';
import { modelBytes } from './helpers/models.js';

/**
 * Mutates the real model files (stories260K.bin + tok512.bin, and GGUFs converted from them)
 * and checks that opening each mutant and reading (and dequantizing) every tensor either
 * succeeds or throws EdgeLMError: never another error, never a hang.
 */

const CASES_PER_TARGET = 600;
/** Far above any honest case (~ms); only a hang or runaway loop gets near it. */
const CASE_TIME_BOUND_MS = 2000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXTREMES = [0xff, 0x7f, 0x80, 0x00];

/** One mutant of `file`; positions fall in [0, hot) most of the time, where the headers are. */
function mutate(file: Uint8Array, hot: number, r: () => number): { bytes: Uint8Array; what: string } {
  const int = (n: number) => Math.floor(r() * n);
  const pos = () => (r() < 0.85 ? int(Math.min(hot, file.length)) : int(file.length));
  switch (int(5)) {
    case 0: {
      const bytes = file.slice();
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) bytes[pos()] ^= 1 << int(8);
      return { bytes, what: `${flips} bit flips` };
    }
    case 1: {
      // An extreme value over 1, 2, 4 or 8 bytes: the width of every header field.
      const bytes = file.slice();
      const at = pos();
      const width = [1, 2, 4, 8][int(4)];
      const fill = EXTREMES[int(EXTREMES.length)];
      for (let i = 0; i < width && at + i < bytes.length; i++) bytes[at + i] = fill;
      // 0x7F/0x80 as the top byte make the largest positive or most negative integer.
      if (fill === 0x7f || fill === 0x80) bytes[Math.min(at + width - 1, bytes.length - 1)] = fill;
      return { bytes, what: `${width}×0x${fill.toString(16)} at ${at}` };
    }
    case 2: {
      const len = r() < 0.7 ? int(Math.min(hot, file.length)) : int(file.length);
      return { bytes: file.slice(0, len), what: `truncated to ${len}` };
    }
    case 3: {
      const at = pos();
      const ins = Uint8Array.from({ length: 1 + int(16) }, () => (r() < 0.5 ? EXTREMES[int(4)] : int(256)));
      const bytes = new Uint8Array(file.length + ins.length);
      bytes.set(file.subarray(0, at));
      bytes.set(ins, at);
      bytes.set(file.subarray(at), at + ins.length);
      return { bytes, what: `${ins.length} bytes inserted at ${at}` };
    }
    default: {
      const at = pos();
      const n = 1 + int(16);
      const bytes = new Uint8Array(Math.max(0, file.length - n));
      bytes.set(file.subarray(0, at));
      bytes.set(file.subarray(at + n), at);
      return { bytes, what: `${n} bytes deleted at ${at}` };
    }
  }
}

/** Opens a model and reads and dequantizes every tensor. */
async function exercise(model: Uint8Array, tokenizer?: Uint8Array): Promise<void> {
  const m = await openModel(bytesSource(model, 'mutant'), {
    tokenizer: tokenizer && bytesSource(tokenizer, 'mutant-tokenizer'),
  });
  for (const t of m.tensors) {
    const bytes = await m.readTensor(t);
    dequantize(
      t.type,
      bytes,
      t.shape.reduce((a, b) => a * b, 1),
    );
  }
}

interface Target {
  name: string;
  file: Uint8Array;
  hot: number;
  run: (mutant: Uint8Array) => Promise<void>;
}

describe('fuzzing the model formats', () => {
  const targets: Target[] = [];

  beforeAll(async () => {
    const [bin, tok] = await Promise.all([modelBytes('stories260K.bin'), modelBytes('tok512.bin')]);
    const gguf = async (type: 'f32' | 'q8_0') => {
      const model = await openModel(bytesSource(bin), { tokenizer: bytesSource(tok) });
      return convertToGgufBytes(model, type);
    };
    const [f32, q8] = await Promise.all([gguf('f32'), gguf('q8_0')]);
    const headerEnd = async (b: Uint8Array) => (await readGgufHeader(bytesSource(b))).dataOffset + 64;
    targets.push(
      { name: 'stories260K.gguf (F32)', file: f32, hot: await headerEnd(f32), run: (m) => exercise(m) },
      { name: 'stories260K.gguf (Q8_0)', file: q8, hot: await headerEnd(q8), run: (m) => exercise(m) },
      // The llama2.c header is 28 bytes (legacy) or 256 (ak42); the tokenizer is all header.
      { name: 'stories260K.bin', file: bin, hot: 256, run: (m) => exercise(m, tok) },
      { name: 'tok512.bin', file: tok, hot: tok.length, run: (m) => exercise(bin, m) },
    );
  });

  it(`${4 * CASES_PER_TARGET} mutants open or fail with EdgeLMError, each within ${CASE_TIME_BOUND_MS} ms`, async () => {
    const r = rng(0x5eed);
    const outcomes = new Map<string, number>();
    let slowest = 0;
    for (const target of targets) {
      for (let i = 0; i < CASES_PER_TARGET; i++) {
        const { bytes, what } = mutate(target.file, target.hot, r);
        const start = performance.now();
        let outcome = 'ok';
        try {
          await target.run(bytes);
        } catch (e) {
          if (!(e instanceof EdgeLMError)) {
            throw new Error(`${target.name}, case ${i} (${what}) threw a non-EdgeLMError: ${String(e)}`, {
              cause: e,
            });
          }
          outcome = e.code;
        }
        const ms = performance.now() - start;
        slowest = Math.max(slowest, ms);
        expect(ms, `${target.name}, case ${i} (${what})`).toBeLessThan(CASE_TIME_BOUND_MS);
        const key = `${target.name} ${outcome}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }
    console.log(
      `fuzz outcomes (slowest case ${slowest.toFixed(1)} ms):\n${[...outcomes].map(([k, n]) => `  ${k}: ${n}`).join('\n')}`,
    );
    // The mutations reach past the magic: both successes and several distinct failures occur.
    for (const t of targets) {
      const codes = [...outcomes.keys()].filter((k) => k.startsWith(`${t.name} `));
      expect(codes.length, t.name).toBeGreaterThanOrEqual(3);
    }
  });
});
