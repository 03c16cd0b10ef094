import { EdgeLMError } from '../errors.js';
import { TensorName } from '../model/config.js';
import type { ModelFile, TensorInfo } from '../model/model-file.js';
import type { TokenizerData } from '../tokenizer/tokenizer-data.js';
import { featureMetadata } from './gguf/feature-metadata.js';
import { type GgufValue, gguf } from './gguf/values.js';
import { type GgufSink, type GgufTensorInput, writeGguf } from './gguf/writer.js';
import { dequantize, quantize } from './quant/index.js';
import { FILE_TYPES, type FileType, isFileType, llamaFileType, tensorTypes } from './type-mix.js';

/** A llama-quantize file type (`q4_k_m`, `q8_0`, `f16`, …); see {@link FILE_TYPES}. */
export type ConvertType = FileType;

/** GGUF token types: normal, unknown, control, byte. */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

/**
 * Token types for a vocabulary that has none (llama2.c's tokenizer.bin), classified as
 * llama.cpp's llama2.c converter does, so the file also works in llama.cpp.
 */
function inferTokenTypes(t: TokenizerData): number[] {
  return t.tokens.map((text, id) => {
    if (id === t.bos || id === t.eos) return TOKEN_TYPE.control;
    if (text === '<unk>') return TOKEN_TYPE.unknown;
    if (/^<0x[0-9A-Fa-f]{2}>$/.test(text)) return TOKEN_TYPE.byte;
    return TOKEN_TYPE.normal;
  });
}

/** The full metadata of `model` as GGUF keys (its architecture's features included), in llama.cpp's usual order. */
export function ggufMetadataOf(model: ModelFile, type: ConvertType): [string, GgufValue][] {
  const c = model.config;
  const a = c.arch;
  const t = model.tokenizer;
  const name = model.metadata['general.name'];
  const md: [string, GgufValue][] = [
    ['general.architecture', gguf.string(a)],
    ['general.name', gguf.string(typeof name === 'string' ? name : 'edgelm')],
    ['general.file_type', gguf.u32(llamaFileType(type))],
    ['general.quantization_version', gguf.u32(2)],
    [`${a}.context_length`, gguf.u32(c.contextLength)],
    [`${a}.embedding_length`, gguf.u32(c.dim)],
    [`${a}.block_count`, gguf.u32(c.nLayers)],
    [`${a}.feed_forward_length`, gguf.u32(c.hiddenDim)],
    [`${a}.rope.dimension_count`, gguf.u32(c.features.rope.dims)],
    [`${a}.attention.head_count`, gguf.u32(c.nHeads)],
    [`${a}.attention.head_count_kv`, gguf.u32(c.nKvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(c.normEps)],
    [`${a}.rope.freq_base`, gguf.f32(c.ropeTheta)],
    ...featureMetadata(c, model.metadata),
  ];
  if (c.headDim * c.nHeads !== c.dim) {
    md.push(
      [`${a}.attention.key_length`, gguf.u32(c.headDim)],
      [`${a}.attention.value_length`, gguf.u32(c.headDim)],
    );
  }
  md.push(
    ['tokenizer.ggml.model', gguf.string(t.model)],
    ['tokenizer.ggml.tokens', gguf.array('string', t.tokens)],
  );
  if (t.scores.length === t.tokens.length)
    md.push(['tokenizer.ggml.scores', gguf.array('f32', [...t.scores])]);
  const types = t.tokenTypes ? [...t.tokenTypes] : t.model === 'llama' ? inferTokenTypes(t) : undefined;
  if (types) md.push(['tokenizer.ggml.token_type', gguf.array('i32', types)]);
  if (t.merges) md.push(['tokenizer.ggml.merges', gguf.array('string', t.merges)]);
  md.push(
    ['tokenizer.ggml.bos_token_id', gguf.u32(t.bos)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(t.eos)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(t.addBos)],
    ['tokenizer.ggml.add_space_prefix', gguf.bool(t.addSpacePrefix)],
  );
  if (t.eogIds?.length) md.push(['tokenizer.ggml.eot_token_id', gguf.u32(t.eogIds[0])]);
  if (model.chatTemplate !== undefined) md.push(['tokenizer.chat_template', gguf.string(model.chatTemplate)]);
  return md;
}

function elementsOf(info: TensorInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

/** Tensors in llama.cpp's order: embedding, then each block, then the output norm and head. */
function fileOrder(tensors: TensorInfo[]): TensorInfo[] {
  const rank = (name: string) => {
    if (name === TensorName.tokenEmbd) return [0, 0];
    const m = /^blk\.(\d+)\./.exec(name);
    return m ? [1, Number(m[1])] : [2, 0];
  };
  return [...tensors].sort((x, y) => {
    const [a0, a1] = rank(x.name);
    const [b0, b1] = rank(y.name);
    return a0 - b0 || a1 - b1;
  });
}

/**
 * Writes `model` as a GGUF file of llama.cpp file type `type`, one tensor in memory at a time,
 * each tensor in the type llama-quantize would give it ({@link tensorTypes}: `q4_k_m` puts the
 * output and half the attn_v/ffn_down matrices in Q6_K, and so on). Works from any format
 * `openModel` reads, GGUF included (requantizing: each tensor is dequantized, then quantized
 * with llama.cpp's reference quantizers; a tensor already in its type is copied bit for bit).
 *
 * @example
 * ```ts
 * const model = await openModel(bytesSource(bin), { tokenizer: bytesSource(tok) });
 * await convertToGguf(model, 'q8_0', { write: (b) => file.write(b) });
 * ```
 */
export async function convertToGguf(model: ModelFile, type: ConvertType, sink: GgufSink): Promise<number> {
  if (!isFileType(type)) {
    throw new EdgeLMError('INVALID_ARGUMENT', `Cannot convert to "${type}" (${FILE_TYPES.join(', ')})`, {
      type,
    });
  }
  const ordered = fileOrder(model.tensors);
  const mix = tensorTypes(ordered, model.config, type);
  const tensors: GgufTensorInput[] = ordered.map((info) => {
    const out = mix.get(info.name)!;
    return {
      name: info.name,
      type: out,
      shape: info.shape,
      data: async () => {
        const bytes = await model.readTensor(info);
        if (info.type === out) return bytes;
        return quantize(out, dequantize(info.type, bytes, elementsOf(info)));
      },
    };
  });
  return writeGguf(sink, { metadata: ggufMetadataOf(model, type), tensors });
}

/**
 * {@link convertToGguf} into memory: the whole file as one buffer (tests, benchmarks, pages that
 * build a model on the fly). Large models should stream to a sink instead.
 *
 * @example
 * ```ts
 * const gguf = await convertToGgufBytes(model, 'q8_0');
 * const reopened = await openModel(bytesSource(gguf));
 * ```
 */
export async function convertToGgufBytes(model: ModelFile, type: ConvertType): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const total = await convertToGguf(model, type, {
    write: async (b) => {
      parts.push(b.slice());
    },
  });
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
