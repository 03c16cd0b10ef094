import { EdgeLMError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { TensorName } from '../../model/config.js';
import { llamaFeatures } from '../../model/features.js';
import type { TensorInfo } from '../../model/model-file.js';
import type { ByteSource } from '../byte-source.js';
import { GGMLType } from '../ggml-types.js';

/** The seven int32 hyperparameters every llama2.c checkpoint starts with. */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
  /** 0 for the legacy headerless layout, 1 for the 'ak42' fp32 export. */
  version: 0 | 1;
  /** Byte offset where weights begin. */
  dataOffset: number;
}

const AK42_MAGIC = 0x616b3432;
// Generous ceilings: anything past them is a corrupt or hostile header, not a real model.
const MAX_DIM = 1 << 16;
const MAX_LAYERS = 1024;
const MAX_VOCAB = 1 << 20;
const MAX_SEQ = 1 << 20;

export async function readLlama2cHeader(src: ByteSource): Promise<Llama2cHeader> {
  const head = await src.read(0, Math.min(src.size, 256));
  if (head.byteLength < 28) {
    throw new EdgeLMError('TRUNCATED', `${src.name} is too short for a llama2.c header`, { size: src.size });
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let version: 0 | 1 = 0;
  let at = 0;
  if (view.getUint32(0, true) === AK42_MAGIC) {
    if (head.byteLength < 256) throw new EdgeLMError('TRUNCATED', `${src.name}: ak42 header is cut short`);
    const v = view.getInt32(4, true);
    if (v !== 1) {
      throw new EdgeLMError(
        'UNSUPPORTED_VERSION',
        `llama2.c export version ${v} is not supported (only fp32 v1)`,
        {
          version: v,
        },
      );
    }
    version = 1;
    at = 8;
  }
  const ints = Array.from({ length: 7 }, (_, i) => view.getInt32(at + i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = ints as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const sharedClassifier = version === 1 ? view.getUint8(at + 28) !== 0 : rawVocab > 0;
  const vocabSize = Math.abs(rawVocab);
  const bad = (what: string, value: number) =>
    new EdgeLMError('CORRUPT', `${src.name}: llama2.c header has an invalid ${what} (${value})`, {
      [what]: value,
    });
  if (!(dim > 0 && dim <= MAX_DIM)) throw bad('dim', dim);
  if (!(hiddenDim > 0 && hiddenDim <= MAX_DIM * 8)) throw bad('hiddenDim', hiddenDim);
  if (!(nLayers > 0 && nLayers <= MAX_LAYERS)) throw bad('nLayers', nLayers);
  if (!(nHeads > 0 && dim % nHeads === 0)) throw bad('nHeads', nHeads);
  if (!(nKvHeads > 0 && nKvHeads <= nHeads && nHeads % nKvHeads === 0)) throw bad('nKvHeads', nKvHeads);
  if (!(vocabSize > 0 && vocabSize <= MAX_VOCAB)) throw bad('vocabSize', vocabSize);
  if (!(seqLen > 0 && seqLen <= MAX_SEQ)) throw bad('seqLen', seqLen);
  if (((dim / nHeads) | 0) % 2 !== 0) throw bad('headDim', dim / nHeads);
  return {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    sharedClassifier,
    version,
    dataOffset: version === 1 ? 256 : 28,
  };
}

export function llama2cConfig(h: Llama2cHeader): ModelConfig {
  return {
    arch: 'llama',
    dim: h.dim,
    hiddenDim: h.hiddenDim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    vocabSize: h.vocabSize,
    contextLength: h.seqLen,
    // llama2.c's eps is the float 1e-5f; GGUF stores it as f32 too, so both load the same value.
    normEps: Math.fround(1e-5),
    ropeTheta: 10000,
    ropeStyle: 'interleaved',
    tiedEmbeddings: h.sharedClassifier,
    qkvBias: false,
    features: llamaFeatures(h.dim / h.nHeads),
  };
}

type Layout = { name: string | ((l: number) => string); rows: number; cols: number; perLayer: boolean }[];

/** Tensor order of each layout; (rows, cols) with cols the row length, as GGUF shape [cols, rows]. */
function layout(h: Llama2cHeader): Layout {
  const kvDim = (h.dim / h.nHeads) * h.nKvHeads;
  const T = TensorName;
  const stack = (name: (l: number) => string, rows: number, cols: number) => ({
    name,
    rows,
    cols,
    perLayer: true,
  });
  const one = (name: string, rows: number, cols: number) => ({ name, rows, cols, perLayer: false });
  // Legacy files still carry two RoPE tables of seqLen × headDim/2 floats each; they are skipped.
  const skipFreqs = one('', h.seqLen, h.dim / h.nHeads);
  if (h.version === 0) {
    return [
      one(T.tokenEmbd, h.vocabSize, h.dim),
      stack(T.attnNorm, 1, h.dim),
      stack(T.attnQ, h.dim, h.dim),
      stack(T.attnK, kvDim, h.dim),
      stack(T.attnV, kvDim, h.dim),
      stack(T.attnOutput, h.dim, h.dim),
      stack(T.ffnNorm, 1, h.dim),
      stack(T.ffnGate, h.hiddenDim, h.dim),
      stack(T.ffnDown, h.dim, h.hiddenDim),
      stack(T.ffnUp, h.hiddenDim, h.dim),
      one(T.outputNorm, 1, h.dim),
      skipFreqs,
      ...(h.sharedClassifier ? [] : [one(T.output, h.vocabSize, h.dim)]),
    ];
  }
  return [
    stack(T.attnNorm, 1, h.dim),
    stack(T.ffnNorm, 1, h.dim),
    one(T.outputNorm, 1, h.dim),
    one(T.tokenEmbd, h.vocabSize, h.dim),
    stack(T.attnQ, h.dim, h.dim),
    stack(T.attnK, kvDim, h.dim),
    stack(T.attnV, kvDim, h.dim),
    stack(T.attnOutput, h.dim, h.dim),
    stack(T.ffnGate, h.hiddenDim, h.dim),
    stack(T.ffnDown, h.dim, h.hiddenDim),
    stack(T.ffnUp, h.hiddenDim, h.dim),
    ...(h.sharedClassifier ? [] : [one(T.output, h.vocabSize, h.dim)]),
  ];
}

/** Locates every tensor of a llama2.c checkpoint; throws TRUNCATED if the file is too short for them. */
export function llama2cTensors(h: Llama2cHeader, fileSize: number, name: string): TensorInfo[] {
  const out: TensorInfo[] = [];
  let offset = h.dataOffset;
  for (const t of layout(h)) {
    const bytes = t.rows * t.cols * 4;
    const count = t.perLayer ? h.nLayers : 1;
    for (let l = 0; l < count; l++) {
      if (t.name !== '') {
        const tensorName = typeof t.name === 'string' ? t.name : t.name(l);
        const shape = t.rows === 1 ? [t.cols] : [t.cols, t.rows];
        out.push({ name: tensorName, type: GGMLType.F32, shape, offset, byteLength: bytes });
      }
      offset += bytes;
    }
  }
  if (offset > fileSize) {
    throw new EdgeLMError('TRUNCATED', `${name} is ${fileSize} bytes; its header needs ${offset}`, {
      size: fileSize,
      needed: offset,
    });
  }
  return out;
}
