import { describe, expect, it } from 'vitest';
import { EdgeLMError } from '../src/errors.js';
import { type ByteSource, bytesSource } from '../src/formats/byte-source.js';
import { GGMLType } from '../src/formats/ggml-types.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { parseMerges } from '../src/formats/gguf/tokenizer.js';
import { gguf } from '../src/formats/gguf/values.js';
import { encodeGguf } from '../src/formats/gguf/writer.js';
import { TensorName } from '../src/model/config.js';
import { llamaFeatures } from '../src/model/features.js';
import { TINY, type TinyGgufOptions, tinyGguf, tinyModelParts } from './helpers/tiny-gguf.js';

async function expectCode(p: Promise<unknown>, code: string): Promise<EdgeLMError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(EdgeLMError);
  expect((err as EdgeLMError).code).toBe(code);
  return err as EdgeLMError;
}

/** A source that records every read it serves. */
function recording(bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes, 'tiny.gguf');
  const reads: [number, number][] = [];
  return {
    size: inner.size,
    name: inner.name,
    reads,
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
  };
}

const edited = (edit: TinyGgufOptions['edit'], o: TinyGgufOptions = {}) => tinyGguf({ ...o, edit });

describe('openGguf', () => {
  it('maps llama metadata onto ModelConfig and TokenizerData', async () => {
    const m = await openGguf(bytesSource(await tinyGguf()));
    expect(m.format).toBe('gguf');
    expect(m.config).toEqual({
      arch: 'llama',
      dim: TINY.dim,
      hiddenDim: TINY.hidden,
      nLayers: TINY.layers,
      nHeads: TINY.heads,
      nKvHeads: TINY.kvHeads,
      headDim: TINY.dim / TINY.heads,
      vocabSize: TINY.vocab,
      contextLength: TINY.ctx,
      normEps: Math.fround(1e-6),
      ropeTheta: 1e6,
      ropeStyle: 'interleaved',
      tiedEmbeddings: false,
      qkvBias: false,
      features: llamaFeatures(TINY.dim / TINY.heads),
    });
    const t = m.tokenizer;
    expect([t.model, t.bos, t.eos, t.addBos, t.addSpacePrefix]).toEqual(['llama', 1, 2, true, true]);
    expect(t.tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '▁a']);
    expect(t.scores[5]).toBe(-5);
    expect(t.tokenTypes?.[10]).toBe(6);
    expect(m.metadata['llama.block_count']).toBe(TINY.layers);
    expect(m.chatTemplate).toBeUndefined();
  });

  it('reads qwen2 as neox RoPE with QKV bias, and a tied head when output.weight is absent', async () => {
    const m = await openGguf(bytesSource(await tinyGguf({ arch: 'qwen2', bias: true, tied: true })));
    expect([m.config.arch, m.config.ropeStyle, m.config.qkvBias, m.config.tiedEmbeddings]).toEqual([
      'qwen2',
      'neox',
      true,
      true,
    ]);
    const mistral = await openGguf(bytesSource(await tinyGguf({ arch: 'mistral' })));
    expect(mistral.config.ropeStyle).toBe('interleaved');
  });

  it('reads gpt2 tokenizers with merges, flags and chat template', async () => {
    const bytes = await tinyGguf({
      tokenizer: 'gpt2',
      edit: (md) => {
        md.set('tokenizer.ggml.add_bos_token', gguf.bool(false));
        md.set('tokenizer.ggml.eot_token_id', gguf.u32(7));
        md.set('tokenizer.chat_template', gguf.string('{{ messages }}'));
      },
    });
    const m = await openGguf(bytesSource(bytes));
    const t = m.tokenizer;
    expect([t.model, t.addBos, t.addSpacePrefix, t.scores.length, t.eogIds]).toEqual([
      'gpt2',
      false,
      false,
      0,
      [7],
    ]);
    expect(parseMerges(t.merges ?? [])).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['ab', 'c'],
    ]);
    expect(m.chatTemplate).toBe('{{ messages }}');
  });

  it('reads the header in bounded chunks and each tensor from its own byte range only', async () => {
    const { md, tensors } = tinyModelParts();
    // A large extra tensor: the header reader must not pull it in.
    const big = new Uint8Array(4 << 20);
    tensors.push({ name: 'extra.weight', type: GGMLType.F32, shape: [big.length / 4], data: () => big });
    const src = recording(await encodeGguf({ metadata: md, tensors }));
    const m = await openGguf(src);
    const headerRead = src.reads.reduce((a, [, n]) => a + n, 0);
    expect(headerRead).toBeLessThan(256 << 10);
    for (const info of m.tensors) {
      src.reads.length = 0;
      const bytes = await m.readTensor(info);
      expect(src.reads).toEqual([[info.offset, info.byteLength]]);
      expect(bytes.byteLength).toBe(info.byteLength);
    }
  });

  it('refuses files whose tensors disagree with their metadata', async () => {
    const cases: [string, TinyGgufOptions['edit'], string][] = [
      [
        'missing layer tensor',
        (_, t) =>
          t.splice(
            t.findIndex((x) => x.name === TensorName.ffnUp(1)),
            1,
          ),
        'CORRUPT',
      ],
      [
        'wrong shape',
        (_, t) => {
          const k = t.find((x) => x.name === TensorName.attnK(0))!;
          k.shape = [TINY.dim, TINY.dim];
          k.data = () => new Uint8Array(TINY.dim * TINY.dim * 4);
        },
        'CORRUPT',
      ],
      [
        'vocab/embedding mismatch',
        (md) => md.set('tokenizer.ggml.tokens', gguf.array('string', ['a', 'b', 'c'])),
        'CORRUPT',
      ],
      ['heads not grouping', (md) => md.set('llama.attention.head_count_kv', gguf.u32(3)), 'CORRUPT'],
      ['zero layers', (md) => md.set('llama.block_count', gguf.u32(0)), 'CORRUPT'],
      ['width as a string', (md) => md.set('llama.embedding_length', gguf.string('32')), 'CORRUPT'],
      ['missing width', (md) => md.delete('llama.embedding_length'), 'CORRUPT'],
      ['negative epsilon', (md) => md.set('llama.attention.layer_norm_rms_epsilon', gguf.f32(-1)), 'CORRUPT'],
      ['eos out of range', (md) => md.set('tokenizer.ggml.eos_token_id', gguf.u32(TINY.vocab)), 'CORRUPT'],
      [
        'scores of the wrong length',
        (md) => md.set('tokenizer.ggml.scores', gguf.array('f32', [1])),
        'CORRUPT',
      ],
      [
        'unknown architecture',
        (md) => md.set('general.architecture', gguf.string('rwkv')),
        'UNSUPPORTED_TYPE',
      ],
      ['unknown tokenizer', (md) => md.set('tokenizer.ggml.model', gguf.string('bert')), 'UNSUPPORTED_TYPE'],
    ];
    for (const [what, edit, code] of cases) {
      const err = await expectCode(openGguf(bytesSource(await edited(edit))), code);
      expect(err.message.length, what).toBeGreaterThan(0);
    }
    await expectCode(
      openGguf(bytesSource(await edited((md) => md.delete('tokenizer.ggml.merges'), { tokenizer: 'gpt2' }))),
      'CORRUPT',
    );
  });
});
