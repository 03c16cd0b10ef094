// Streams a GGUF of a bench shape to disk: llama.cpp's tensor names and metadata for the
// architecture, each matrix in the type llama-quantize gives it under the file type
// (`tensorTypes`: Q4_K_M's Q6_K output and attn_v/ffn_down layers, the Q5_0/Q8_0 fallbacks for
// Qwen's 896-wide rows), filled with random blocks (throughput does not depend on the values).
// One tensor is in memory at a time, so the 1B shape's ~1.3 GB Q8_0 file costs its largest
// tensor, not the file. Files are cached by name and reused.

import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GGML_WEIGHT_TYPE, randomBlocks } from '@edgelm/kernels';
import { GGML_BLOCK, GGMLType } from '../../src/formats/ggml-types.js';
import { type GgufValue, gguf } from '../../src/formats/gguf/values.js';
import { type GgufTensorInput, writeGguf } from '../../src/formats/gguf/writer.js';
import { type FileType, llamaFileType, tensorTypes } from '../../src/formats/type-mix.js';
import { TensorName as T } from '../../src/model/config.js';
import type { TensorInfo } from '../../src/model/model-file.js';
import { fileSink } from '../../src/node/file-source.js';
import { hash32 } from '../../src/sampler/rng.js';
import { llama3RopeFactors } from '../../src/synth/arch-gguf.js';
import type { BenchShape } from './shapes.js';

/** The token generation stops at; its classifier row is zeroed so random weights never pick it. */
export const EOS = 2;

/** Tensor names and GGUF shapes of a bench shape, in llama.cpp's file order. */
export function shapeTensors(s: BenchShape): { name: string; shape: number[] }[] {
  const hd = s.dim / s.heads;
  const q = s.heads * hd;
  const kv = s.kvHeads * hd;
  const out: { name: string; shape: number[] }[] = [{ name: T.tokenEmbd, shape: [s.dim, s.vocab] }];
  for (let l = 0; l < s.layers; l++) {
    out.push(
      { name: T.attnNorm(l), shape: [s.dim] },
      { name: T.attnQ(l), shape: [s.dim, q] },
      { name: T.attnK(l), shape: [s.dim, kv] },
      { name: T.attnV(l), shape: [s.dim, kv] },
    );
    if (s.qkvBias) {
      out.push(
        { name: T.attnQBias(l), shape: [q] },
        { name: T.attnKBias(l), shape: [kv] },
        { name: T.attnVBias(l), shape: [kv] },
      );
    }
    out.push(
      { name: T.attnOutput(l), shape: [q, s.dim] },
      { name: T.ffnNorm(l), shape: [s.dim] },
      { name: T.ffnGate(l), shape: [s.dim, s.hidden] },
      { name: T.ffnUp(l), shape: [s.dim, s.hidden] },
      { name: T.ffnDown(l), shape: [s.hidden, s.dim] },
    );
  }
  out.push({ name: T.outputNorm, shape: [s.dim] });
  if (!s.tied) out.push({ name: T.output, shape: [s.dim, s.vocab] });
  if (s.llama3RopeContext) out.push({ name: T.ropeFreqs, shape: [hd / 2] });
  return out;
}

/** Each tensor's GGML type under llama.cpp's mix for `type`. */
export function shapeTypes(s: BenchShape, type: FileType): Map<string, GGMLType> {
  const infos: TensorInfo[] = shapeTensors(s).map((t) => ({
    name: t.name,
    shape: t.shape,
    type: GGMLType.F32,
    offset: 0,
    byteLength: 0,
  }));
  return tensorTypes(infos, { arch: s.arch, nLayers: s.layers, nHeads: s.heads, nKvHeads: s.kvHeads }, type);
}

/** A SentencePiece-style vocabulary of the shape's size: specials, the 256 bytes, word pieces. */
function vocab(size: number): string[] {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (let i = 0; tokens.length < size; i++) tokens.push(`▁w${i.toString(36)}`);
  return tokens;
}

function metadata(s: BenchShape, type: FileType): [string, GgufValue][] {
  const a = s.arch;
  const tokens = vocab(s.vocab);
  return [
    ['general.architecture', gguf.string(a)],
    ['general.name', gguf.string(`edgelm-bench-${s.name}-${type}`)],
    ['general.file_type', gguf.u32(llamaFileType(type))],
    ['general.quantization_version', gguf.u32(2)],
    [`${a}.context_length`, gguf.u32(s.contextLength)],
    [`${a}.embedding_length`, gguf.u32(s.dim)],
    [`${a}.block_count`, gguf.u32(s.layers)],
    [`${a}.feed_forward_length`, gguf.u32(s.hidden)],
    [`${a}.attention.head_count`, gguf.u32(s.heads)],
    [`${a}.attention.head_count_kv`, gguf.u32(s.kvHeads)],
    [`${a}.rope.freq_base`, gguf.f32(s.ropeBase)],
    [`${a}.rope.dimension_count`, gguf.u32(s.dim / s.heads)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(1e-5)],
    ['tokenizer.ggml.model', gguf.string('llama')],
    ['tokenizer.ggml.tokens', gguf.array('string', tokens)],
    [
      'tokenizer.ggml.scores',
      gguf.array(
        'f32',
        tokens.map((_, i) => (i < 259 ? 0 : -i)),
      ),
    ],
    [
      'tokenizer.ggml.token_type',
      gguf.array(
        'i32',
        tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)),
      ),
    ],
    ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(EOS)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(false)],
  ];
}

/** xorshift32 seeded from the tensor name: reruns write the same bytes. */
function rng(name: string): () => number {
  let s = 0x9e3779b9;
  for (let i = 0; i < name.length; i++) s = hash32(s ^ name.charCodeAt(i));
  s ||= 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function tensorData(s: BenchShape, name: string, shape: number[], type: GGMLType): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const rand = rng(name);
  if (shape.length === 1) {
    const v = new Float32Array(count);
    if (name === T.ropeFreqs) v.set(llama3RopeFactors(s.ropeBase, s.dim / s.heads, s.llama3RopeContext!));
    else if (name.endsWith('.bias')) for (let i = 0; i < count; i++) v[i] = (rand() * 2 - 1) * 0.1;
    else v.fill(1);
    return new Uint8Array(v.buffer);
  }
  const wt = GGML_WEIGHT_TYPE[type];
  if (!wt) throw new TypeError(`No random blocks for GGML type ${type}`);
  const bytes = randomBlocks(wt, count, rand, 1 / Math.sqrt(shape[0]!));
  if (name === (s.tied ? T.tokenEmbd : T.output)) {
    const { blockSize, blockBytes } = GGML_BLOCK[type];
    const row = (shape[0]! / blockSize) * blockBytes;
    bytes.fill(0, EOS * row, (EOS + 1) * row);
  }
  return bytes;
}

/** A cached GGUF of `s` in `type`: where it is, its size, and how long writing it took (0: cached). */
export interface SynthFile {
  path: string;
  bytes: number;
  writeSeconds: number;
}

/** Writes (or finds) `<dir>/<shape>-<type>.gguf`. A partial write never survives: it goes to a temp name first. */
export async function synthesize(s: BenchShape, type: FileType, dir: string): Promise<SynthFile> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${s.name}-${type}.gguf`);
  if (existsSync(path)) return { path, bytes: statSync(path).size, writeSeconds: 0 };
  const types = shapeTypes(s, type);
  const tensors: GgufTensorInput[] = shapeTensors(s).map((t) => {
    const tt = types.get(t.name)!;
    return { name: t.name, type: tt, shape: t.shape, data: () => tensorData(s, t.name, t.shape, tt) };
  });
  const tmp = `${path}.${process.pid}.part`;
  const t0 = performance.now();
  const sink = await fileSink(tmp);
  let bytes: number;
  try {
    bytes = await writeGguf(sink, { metadata: metadata(s, type), tensors });
  } finally {
    await sink.close();
  }
  renameSync(tmp, path);
  return { path, bytes, writeSeconds: (performance.now() - t0) / 1000 };
}
