import { GGMLType } from '../formats/ggml-types.js';
import { type GgufValue, gguf } from '../formats/gguf/values.js';
import { encodeGguf, type GgufTensorInput } from '../formats/gguf/writer.js';
import { TensorName as T } from '../model/config.js';

/**
 * Tiny models of each architecture, laid out as llama.cpp's convert_hf_to_gguf.py writes them
 * (tensor names, fused tensors, metadata keys), with seeded random weights: what the
 * architecture tests and `edgelm synth --arch` run. Sizes keep rows a multiple of 32.
 */
export const ARCH_SAMPLES = {
  /** Llama 2 / TinyLlama / SmolLM2 layout. */
  llama: { arch: 'llama', dim: 64, hidden: 96, layers: 2, heads: 4, kv: 2, headDim: 16, tied: false },
  /** Llama 3.x: rope_freqs.weight from the converter's llama3 formula. */
  llama3: { arch: 'llama', dim: 64, hidden: 96, layers: 2, heads: 4, kv: 2, headDim: 16, tied: true },
  qwen2: { arch: 'qwen2', dim: 64, hidden: 96, layers: 2, heads: 4, kv: 2, headDim: 16, tied: true },
  /** q/k norms and a head size that is not dim / heads, as Qwen3 0.6B. */
  qwen3: { arch: 'qwen3', dim: 64, hidden: 96, layers: 2, heads: 4, kv: 2, headDim: 32, tied: true },
  /** Five sliding layers then a global one, one KV head, linear RoPE scaling on global layers (4B-style). */
  gemma3: { arch: 'gemma3', dim: 64, hidden: 96, layers: 6, heads: 4, kv: 1, headDim: 32, tied: true },
  /** Fused attn_qkv and gate|up, LongRoPE short/long factors. */
  phi3: { arch: 'phi3', dim: 64, hidden: 96, layers: 2, heads: 4, kv: 4, headDim: 16, tied: false },
} as const;

export type ArchSampleName = keyof typeof ARCH_SAMPLES;

export interface ArchSampleOptions {
  seed?: number;
  contextLength?: number;
  /** Gemma 3's sliding window (default 5, so short tests slide). */
  window?: number;
}

/** Deterministic floats in [-scale, scale] (mulberry32). */
function floats(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Llama 3's rope_freqs as the converter computes them (factor 8, low 1, high 4), for `origCtx`. */
export function llama3RopeFactors(base: number, dims: number, origCtx: number): Float32Array {
  const [factor, low, high] = [8, 1, 4];
  const lowWavelen = origCtx / low;
  const highWavelen = origCtx / high;
  return Float32Array.from({ length: dims / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / base ** ((-2 * i) / dims);
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return factor;
    const smooth = (origCtx / wavelen - low) / (high - low);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

const WORDS = ['<unk>', '<s>', '</s>', '▁Once', '▁upon', '▁a', '▁time', '▁the', '<|end|>', '<|endoftext|>'];

/** The byte tokens of the sample vocabulary: newline (llama.cpp's SPM loader needs it), then 0x20… */
const BYTES = [0x0a, ...Array.from({ length: 96 - WORDS.length - 1 }, (_, i) => 0x20 + i)];

/**
 * A vocabulary of specials, a few words and byte tokens (SentencePiece style, no space prefix):
 * text of bytes 0x20–0x74 without spaces tokenizes to one byte token per character in
 * llama.cpp and here alike (see {@link sampleTokenOfByte}).
 */
function vocab(): string[] {
  return [...WORDS, ...BYTES.map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
}

/** The id of byte `b`'s token in the sample vocabulary, or -1. */
export function sampleTokenOfByte(b: number): number {
  const i = BYTES.indexOf(b);
  return i < 0 ? -1 : WORDS.length + i;
}

/** The GGUF bytes of one architecture sample. */
export async function archSampleGguf(name: ArchSampleName, o: ArchSampleOptions = {}): Promise<Uint8Array> {
  const s = ARCH_SAMPLES[name];
  const a = s.arch;
  const ctx = o.contextLength ?? 128;
  const nVocab = 96;
  const base = a === 'gemma3' ? 1e6 : name === 'llama3' ? 5e5 : 1e4;
  const q = s.heads * s.headDim;
  const kv = s.kv * s.headDim;
  const tokens = vocab();
  const md: [string, GgufValue][] = [
    ['general.architecture', gguf.string(a)],
    ['general.name', gguf.string(`edgelm-sample-${name}`)],
    [`${a}.context_length`, gguf.u32(ctx)],
    [`${a}.embedding_length`, gguf.u32(s.dim)],
    [`${a}.block_count`, gguf.u32(s.layers)],
    [`${a}.feed_forward_length`, gguf.u32(s.hidden)],
    [`${a}.attention.head_count`, gguf.u32(s.heads)],
    [`${a}.attention.head_count_kv`, gguf.u32(s.kv)],
    [`${a}.rope.freq_base`, gguf.f32(base)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(1e-6)],
    [`${a}.rope.dimension_count`, gguf.u32(s.headDim)],
  ];
  if (q !== s.dim) {
    md.push(
      [`${a}.attention.key_length`, gguf.u32(s.headDim)],
      [`${a}.attention.value_length`, gguf.u32(s.headDim)],
    );
  }
  if (a === 'gemma3') {
    md.push(
      [`${a}.attention.sliding_window`, gguf.u32(o.window ?? 5)],
      [`${a}.rope.scaling.type`, gguf.string('linear')],
      [`${a}.rope.scaling.factor`, gguf.f32(8)],
    );
  }
  if (a === 'phi3') {
    const orig = 32;
    md.push(
      [`${a}.rope.scaling.original_context_length`, gguf.u32(orig)],
      [`${a}.rope.scaling.attn_factor`, gguf.f32(Math.sqrt(1 + Math.log(ctx / orig) / Math.log(orig)))],
    );
  }
  md.push(
    ['tokenizer.ggml.model', gguf.string('llama')],
    ['tokenizer.ggml.tokens', gguf.array('string', tokens)],
    [
      'tokenizer.ggml.scores',
      gguf.array(
        'f32',
        tokens.map((_, i) => -i),
      ),
    ],
    [
      'tokenizer.ggml.token_type',
      gguf.array(
        'i32',
        tokens.map((t, i) => (i === 0 ? 2 : i < 3 || t.startsWith('<|') ? 3 : t.startsWith('<0x') ? 6 : 1)),
      ),
    ],
    ['tokenizer.ggml.add_space_prefix', gguf.bool(false)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(2)],
  );

  let seed = o.seed ?? 7;
  const tensors: GgufTensorInput[] = [];
  const put = (tname: string, shape: number[], data: Float32Array) => {
    const bytes = new Uint8Array(data.buffer);
    tensors.push({ name: tname, type: GGMLType.F32, shape, data: () => bytes });
  };
  const mat = (tname: string, cols: number, rows: number) =>
    put(tname, [cols, rows], floats(cols * rows, seed++, 1 / Math.sqrt(cols)));
  // Norm weights around 1 (gemma's converter has already added its +1).
  const norm = (tname: string, n: number) =>
    put(
      tname,
      [n],
      floats(n, seed++, 0.2).map((v) => 1 + v),
    );
  const vec = (tname: string, n: number, scale: number) => put(tname, [n], floats(n, seed++, scale));

  mat(T.tokenEmbd, s.dim, nVocab);
  if (name === 'llama3') put(T.ropeFreqs, [s.headDim / 2], llama3RopeFactors(base, s.headDim, 16));
  if (a === 'phi3') {
    put(
      T.ropeFactorsLong,
      [s.headDim / 2],
      floats(s.headDim / 2, seed++, 1).map((v) => 2.5 + 1.5 * v),
    );
    put(
      T.ropeFactorsShort,
      [s.headDim / 2],
      floats(s.headDim / 2, seed++, 0.2).map((v) => 1 + Math.abs(v)),
    );
  }
  for (let l = 0; l < s.layers; l++) {
    norm(T.attnNorm(l), s.dim);
    if (a === 'phi3') {
      mat(T.attnQkv(l), s.dim, q + 2 * kv);
    } else {
      mat(T.attnQ(l), s.dim, q);
      mat(T.attnK(l), s.dim, kv);
      mat(T.attnV(l), s.dim, kv);
    }
    if (a === 'qwen2') {
      vec(T.attnQBias(l), q, 0.5);
      vec(T.attnKBias(l), kv, 0.5);
      vec(T.attnVBias(l), kv, 0.5);
    }
    if (a === 'qwen3' || a === 'gemma3') {
      norm(T.attnQNorm(l), s.headDim);
      norm(T.attnKNorm(l), s.headDim);
    }
    mat(T.attnOutput(l), q, s.dim);
    if (a === 'gemma3') norm(T.attnPostNorm(l), s.dim);
    norm(T.ffnNorm(l), s.dim);
    if (a === 'phi3') {
      mat(T.ffnUp(l), s.dim, 2 * s.hidden);
    } else {
      mat(T.ffnGate(l), s.dim, s.hidden);
      mat(T.ffnUp(l), s.dim, s.hidden);
    }
    mat(T.ffnDown(l), s.hidden, s.dim);
    if (a === 'gemma3') norm(T.ffnPostNorm(l), s.dim);
  }
  norm(T.outputNorm, s.dim);
  if (!s.tied) mat(T.output, s.dim, nVocab);
  return encodeGguf({ metadata: md, tensors });
}
