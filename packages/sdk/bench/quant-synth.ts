// Synthetic GGUF files of real shapes in llama.cpp's quantization types, written straight from
// random block bytes with valid small scales (no quantizer needed, so a 1.1B model is written in
// seconds): benchmark material whose speed and memory are those of a hub file of that type.

import { ggufMetadataOf } from '../src/formats/convert.js';
import { GGML_BLOCK_ANY, type GGMLType, parseTypeName } from '../src/formats/ggml-types.js';
import { gguf } from '../src/formats/gguf/values.js';
import { type GgufTensorInput, writeGguf } from '../src/formats/gguf/writer.js';
import { TensorName as T } from '../src/model/config.js';
import { fileSink } from '../src/node/file-source.js';
import type { ShapeName } from '../src/synth/shapes.js';
import { syntheticModel } from '../src/synth/synthetic-model.js';

/** Byte offsets of each block's f16 scales, by ggml type name. */
const F16_FIELDS: Record<string, number[]> = {
  Q4_0: [0],
  IQ4_NL: [0],
  Q8_0: [0],
  Q5_0: [0],
  Q4_1: [0, 2],
  Q5_1: [0, 2],
  Q2_K: [80, 82],
  Q3_K: [108],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
  IQ4_XS: [0],
};

/** A mix of types per tensor, as llama.cpp's ftypes choose them, or one type for every matrix. */
export type Mix = 'Q4_K_M' | 'Q5_K_M' | string;

/**
 * The type of matrix `name` (layer `l` of `n`) in `mix`: for Q4_K_M / Q5_K_M, llama.cpp's rule
 * (output Q6_K; attn_v and ffn_down Q6_K in the first and last eighth of the layers and every
 * third between); otherwise the named type everywhere.
 */
export function mixType(mix: Mix, name: string, l: number, n: number): string {
  if (mix !== 'Q4_K_M' && mix !== 'Q5_K_M') return mix;
  const base = mix === 'Q4_K_M' ? 'Q4_K' : 'Q5_K';
  if (name === T.output) return 'Q6_K';
  const moreBits = l < n / 8 || l >= (7 * n) / 8 || (l - Math.floor(n / 8)) % 3 === 2;
  if ((name === T.attnV(l) || name === T.ffnDown(l)) && moreBits) return 'Q6_K';
  return base;
}

/** `count` values of `type` as random blocks (xorshift from `seed`), scales ~ ±scale. */
function randomBlocks(type: string, count: number, seed: number): Uint8Array {
  const g = Object.values(GGML_BLOCK_ANY).find((b) => b.name === type)!;
  const bytes = new Uint8Array((count / g.blockSize) * g.blockBytes);
  const words = new Uint32Array(bytes.buffer, 0, bytes.byteLength >>> 2);
  let s = seed | 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s >>> 0;
  }
  const view = new DataView(bytes.buffer);
  if (type === 'F16' || type === 'BF16') {
    // small finite values: the exponent field pinned near 2^-6
    const exp = type === 'F16' ? [0x7c00, 9 << 10] : [0x7f80, 121 << 7];
    for (let i = 0; i < count; i++)
      view.setUint16(2 * i, (view.getUint16(2 * i, true) & ~exp[0]!) | exp[1]!, true);
    return bytes;
  }
  const fields = F16_FIELDS[type];
  if (!fields) throw new Error(`no synthetic blocks for ${type}`);
  for (let b = 0; b < count / g.blockSize; b++) {
    for (const f of fields)
      view.setUint16(
        b * g.blockBytes + f,
        0x0c00 | (view.getUint16(b * g.blockBytes + f, true) & 0x83ff),
        true,
      );
  }
  return bytes;
}

/**
 * Writes a `shape` model with matrices in `mix` to `path`, one tensor in memory at a time;
 * returns the file's size in bytes.
 */
export async function writeQuantSynth(path: string, shape: ShapeName, mix: Mix, seed = 1): Promise<number> {
  const base = syntheticModel(shape, seed);
  const c = base.config;
  const tensors: GgufTensorInput[] = base.tensors.map((info, i) => {
    const layer = /^blk\.(\d+)\./.exec(info.name);
    const l = layer ? Number(layer[1]) : 0;
    const isMatrix = info.shape.length >= 2;
    const type = isMatrix ? mixType(mix, info.name, l, c.nLayers) : 'F32';
    const count = info.shape.reduce((a, b) => a * b, 1);
    return {
      name: info.name,
      type: parseTypeName(type) as GGMLType,
      shape: info.shape,
      data: async () => (type === 'F32' ? base.readTensor(info) : randomBlocks(type, count, seed * 7919 + i)),
    };
  });
  const metadata = ggufMetadataOf(base, 'f32').filter(
    ([k]) => k !== 'general.file_type' && k !== 'general.name',
  );
  metadata.splice(1, 0, ['general.name', gguf.string(`synthetic-${shape}-${mix}`)]);
  const sink = await fileSink(path);
  try {
    return await writeGguf(sink, { metadata, tensors });
  } finally {
    await sink.close();
  }
}
