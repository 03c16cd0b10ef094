import { EdgeLMError } from '../errors.js';
import { GGMLType } from '../formats/ggml-types.js';
import { type ModelConfig, TensorName as T } from '../model/config.js';
import type { ModelFile, TensorInfo } from '../model/model-file.js';
import { hash32 } from '../sampler/rng.js';
import type { TokenizerData } from '../tokenizer/tokenizer-data.js';
import { SHAPES, type ShapeName } from './shapes.js';

/** A vocabulary of the right size: specials, the 256 byte tokens, then made-up word pieces. */
function syntheticVocab(size: number): TokenizerData {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; tokens.length < size; i++) {
    let w = '';
    for (let n = i; ; n = Math.floor(n / 26) - 1) {
      w = letters[n % 26] + w;
      if (n < 26) break;
    }
    tokens.push(i % 2 === 0 ? `▁${w}` : w);
  }
  const scores = Float32Array.from(tokens, (_, i) => (i < 259 ? 0 : -i));
  const tokenTypes = Int32Array.from(tokens, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  return { model: 'llama', tokens, scores, tokenTypes, bos: 1, eos: 2, addBos: true, addSpacePrefix: true };
}

/** Deterministic weights ~ uniform(-a, a), from (seed, tensor name) alone. */
function fill(name: string, seed: number, count: number, scale: number): Float32Array {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = hash32(h ^ name.charCodeAt(i));
  const out = new Float32Array(count);
  let s = h || 1;
  for (let i = 0; i < count; i++) {
    // xorshift32: fast enough for a billion weights, and reproducible everywhere
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/**
 * A model of a real architecture with random weights, generated tensor by tensor as it is
 * read: benchmark material for shapes whose trained weights cannot be fetched here.
 * Write it with `convertToGguf` to get a quantized file.
 *
 * @example
 * ```ts
 * const model = syntheticModel('stories15M', 42);
 * await convertToGguf(model, 'q8_0', sink);
 * ```
 */
export function syntheticModel(shape: ShapeName | ModelConfig, seed = 1): ModelFile {
  const c: ModelConfig = typeof shape === 'string' ? SHAPES[shape] : shape;
  if (!c) throw new EdgeLMError('INVALID_ARGUMENT', `Unknown shape ${String(shape)}`);
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const specs: [string, number[], number][] = [[T.tokenEmbd, [c.dim, c.vocabSize], 1]];
  for (let l = 0; l < c.nLayers; l++) {
    specs.push(
      [T.attnNorm(l), [c.dim], 0],
      [T.attnQ(l), [c.dim, qDim], 1],
      [T.attnK(l), [c.dim, kvDim], 1],
      [T.attnV(l), [c.dim, kvDim], 1],
      [T.attnOutput(l), [qDim, c.dim], 1],
      [T.ffnNorm(l), [c.dim], 0],
      [T.ffnGate(l), [c.dim, c.hiddenDim], 1],
      [T.ffnUp(l), [c.dim, c.hiddenDim], 1],
      [T.ffnDown(l), [c.hiddenDim, c.dim], 1],
    );
  }
  specs.push([T.outputNorm, [c.dim], 0]);
  if (!c.tiedEmbeddings) specs.push([T.output, [c.dim, c.vocabSize], 1]);
  let offset = 0;
  const tensors: TensorInfo[] = specs.map(([name, shape]) => {
    const byteLength = shape.reduce((a, b) => a * b, 1) * 4;
    const info = { name, type: GGMLType.F32, shape, offset, byteLength };
    offset += byteLength;
    return info;
  });
  const kind = new Map(specs.map(([n, , k]) => [n, k]));
  return {
    format: 'gguf',
    config: c,
    tokenizer: syntheticVocab(c.vocabSize),
    metadata: {
      'general.architecture': c.arch,
      'general.name': `synthetic-${typeof shape === 'string' ? shape : 'custom'}`,
    },
    tensors,
    async readTensor(info) {
      const count = info.byteLength / 4;
      // Norm weights are 1 (as in a fresh model); matrices scaled like a trained one's rows.
      const data =
        kind.get(info.name) === 0
          ? new Float32Array(count).fill(1)
          : fill(info.name, seed, count, 1 / Math.sqrt(info.shape[0]!));
      return new Uint8Array(data.buffer);
    },
  };
}
