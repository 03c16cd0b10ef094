import { GGMLType } from '../../src/formats/ggml-types.js';
import { type GgufValue, gguf } from '../../src/formats/gguf/values.js';
import { encodeGguf, type GgufTensorInput } from '../../src/formats/gguf/writer.js';
import { TensorName } from '../../src/model/config.js';

/** Options for {@link tinyGguf}: a small llama-family model with seeded random weights. */
export interface TinyGgufOptions {
  arch?: 'llama' | 'mistral' | 'qwen2';
  tied?: boolean;
  bias?: boolean;
  tokenizer?: 'llama' | 'gpt2';
  /** Drops or replaces entries after the defaults are built. */
  edit?: (md: Map<string, GgufValue>, tensors: GgufTensorInput[]) => void;
}

export const TINY = { dim: 32, hidden: 64, layers: 2, heads: 4, kvHeads: 2, vocab: 40, ctx: 128 } as const;

/** Deterministic pseudo-random floats (mulberry32), so fixtures are identical on every run. */
export function seededFloats(n: number, seed: number, scale = 1): Float32Array {
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

function f32Tensor(name: string, shape: number[], seed: number): GgufTensorInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(seededFloats(n, seed).buffer);
  return { name, type: GGMLType.F32, shape, data: () => data };
}

/** A vocabulary of byte tokens plus a few words (llama) or byte-level pieces (gpt2). */
function vocab(kind: 'llama' | 'gpt2'): string[] {
  const words = ['<unk>', '<s>', '</s>', '▁a', '▁b', 'ab', 'ba', '▁the'];
  if (kind === 'gpt2')
    return Array.from({ length: TINY.vocab }, (_, i) => (i < 26 ? String.fromCharCode(97 + i) : `t${i}`));
  return Array.from(
    { length: TINY.vocab },
    (_, i) => words[i] ?? `<0x${(i - words.length).toString(16).toUpperCase().padStart(2, '0')}>`,
  );
}

/** Metadata and tensors of a tiny model, before encoding (for tests that edit them). */
export function tinyModelParts(o: TinyGgufOptions = {}): {
  md: Map<string, GgufValue>;
  tensors: GgufTensorInput[];
} {
  const arch = o.arch ?? 'llama';
  const tk = o.tokenizer ?? 'llama';
  const { dim, hidden, layers, heads, kvHeads, ctx } = TINY;
  const headDim = dim / heads;
  const tokens = vocab(tk);
  const md = new Map<string, GgufValue>([
    ['general.architecture', gguf.string(arch)],
    [`${arch}.context_length`, gguf.u32(ctx)],
    [`${arch}.embedding_length`, gguf.u32(dim)],
    [`${arch}.block_count`, gguf.u32(layers)],
    [`${arch}.feed_forward_length`, gguf.u32(hidden)],
    [`${arch}.attention.head_count`, gguf.u32(heads)],
    [`${arch}.attention.head_count_kv`, gguf.u32(kvHeads)],
    [`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(1e-6)],
    [`${arch}.rope.freq_base`, gguf.f32(1e6)],
    ['tokenizer.ggml.model', gguf.string(tk)],
    ['tokenizer.ggml.tokens', gguf.array('string', tokens)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(2)],
  ]);
  if (tk === 'llama') {
    md.set(
      'tokenizer.ggml.scores',
      gguf.array(
        'f32',
        tokens.map((_, i) => -i),
      ),
    );
    md.set(
      'tokenizer.ggml.token_type',
      gguf.array(
        'i32',
        tokens.map((t) => (t.startsWith('<0x') ? 6 : 1)),
      ),
    );
  } else {
    md.set('tokenizer.ggml.merges', gguf.array('string', ['a b', 'b a', 'ab c']));
  }
  let seed = 1;
  const tensors: GgufTensorInput[] = [f32Tensor(TensorName.tokenEmbd, [dim, TINY.vocab], seed++)];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      f32Tensor(TensorName.attnNorm(l), [dim], seed++),
      f32Tensor(TensorName.attnQ(l), [dim, heads * headDim], seed++),
      f32Tensor(TensorName.attnK(l), [dim, kvHeads * headDim], seed++),
      f32Tensor(TensorName.attnV(l), [dim, kvHeads * headDim], seed++),
      f32Tensor(TensorName.attnOutput(l), [heads * headDim, dim], seed++),
      f32Tensor(TensorName.ffnNorm(l), [dim], seed++),
      f32Tensor(TensorName.ffnGate(l), [dim, hidden], seed++),
      f32Tensor(TensorName.ffnUp(l), [dim, hidden], seed++),
      f32Tensor(TensorName.ffnDown(l), [hidden, dim], seed++),
    );
    if (o.bias) {
      tensors.push(
        f32Tensor(TensorName.attnQBias(l), [heads * headDim], seed++),
        f32Tensor(TensorName.attnKBias(l), [kvHeads * headDim], seed++),
        f32Tensor(TensorName.attnVBias(l), [kvHeads * headDim], seed++),
      );
    }
  }
  tensors.push(f32Tensor(TensorName.outputNorm, [dim], seed++));
  if (!o.tied) tensors.push(f32Tensor(TensorName.output, [dim, TINY.vocab], seed++));
  o.edit?.(md, tensors);
  return { md, tensors };
}

/** A tiny llama-family GGUF file in memory. */
export async function tinyGguf(o: TinyGgufOptions = {}): Promise<Uint8Array> {
  const { md, tensors } = tinyModelParts(o);
  return encodeGguf({ metadata: md, tensors });
}
