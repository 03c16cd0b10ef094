/**
 * The type mix of each file type, against the files llama.cpp's own quantizer wrote
 * ($EDGELM_MODELS_DIR/llamacpp): the policy applied to the F16 file's tensors must give every
 * tensor the type llama.cpp gave it. Fallbacks for rows that are not whole blocks are checked on
 * shapes the real files do not have.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConvertType } from '../src/cli/commands/convert.js';
import { EdgeLMError } from '../src/errors.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGgufBytes } from '../src/formats/convert.js';
import { GGMLType, typeName } from '../src/formats/ggml-types.js';
import { openGguf } from '../src/formats/gguf/model.js';
import { type FileType, isFileType, llamaFileType, tensorTypes } from '../src/formats/type-mix.js';
import type { TensorInfo } from '../src/model/model-file.js';
import { modelsDir } from './helpers/models.js';

const dir = join(modelsDir(), 'llamacpp');
const open = (f: string) => openGguf(bytesSource(new Uint8Array(readFileSync(join(dir, f))), f));
const files = readdirSync(dir).filter((f) => /^wide-.*\.gguf$/.test(f));
const fileType = (f: string) => f.slice(5, -5).toLowerCase();

describe('type mixes of llama.cpp’s files', () => {
  it.each(files)('%s', async (file) => {
    const type = fileType(file);
    expect(isFileType(type), type).toBe(true);
    const [src, ref] = await Promise.all([open('wide-F16.gguf'), open(file)]);
    const mix = tensorTypes(src.tensors, src.config, type as FileType);
    const got = Object.fromEntries(ref.tensors.map((t) => [t.name, typeName(mix.get(t.name)!)]));
    const want = Object.fromEntries(ref.tensors.map((t) => [t.name, typeName(t.type)]));
    expect(got).toEqual(want);
    expect(ref.metadata['general.file_type']).toBe(llamaFileType(type as FileType));
  });

  it('convert --type q4_k_m writes the mix and file type of llama.cpp’s Q4_K_M', async () => {
    const [src, ref] = await Promise.all([open('wide-F16.gguf'), open('wide-Q4_K_M.gguf')]);
    const out = await openGguf(bytesSource(await convertToGgufBytes(src, 'q4_k_m')));
    const types = (m: { tensors: TensorInfo[] }) =>
      Object.fromEntries(m.tensors.map((t) => [t.name, t.type]));
    expect(types(out)).toEqual(types(ref));
    expect(out.metadata['general.file_type']).toBe(15);
  });

  it('converting llama.cpp’s Q4_K_M file to q4_k_m copies every tensor bit for bit', async () => {
    const ref = await open('wide-Q4_K_M.gguf');
    const out = await openGguf(bytesSource(await convertToGgufBytes(ref, 'q4_k_m')));
    for (const t of ref.tensors) {
      const o = out.tensors.find((u) => u.name === t.name)!;
      expect(o.type, t.name).toBe(t.type);
      expect(Buffer.compare(await out.readTensor(o), await ref.readTensor(t)), t.name).toBe(0);
    }
  });
});

/** A llama-shaped tensor list: dim × hidden, `layers` blocks, tied or separate output. */
function shape(dim: number, hidden: number, layers: number, tied: boolean): TensorInfo[] {
  const t = (name: string, shape: number[]): TensorInfo => ({
    name,
    type: GGMLType.F32,
    shape,
    offset: 0,
    byteLength: 0,
  });
  const out = [t('token_embd.weight', [dim, 32000])];
  for (let l = 0; l < layers; l++) {
    out.push(
      t(`blk.${l}.attn_norm.weight`, [dim]),
      t(`blk.${l}.attn_q.weight`, [dim, dim]),
      t(`blk.${l}.attn_k.weight`, [dim, dim / 4]),
      t(`blk.${l}.attn_v.weight`, [dim, dim / 4]),
      t(`blk.${l}.attn_output.weight`, [dim, dim]),
      t(`blk.${l}.ffn_norm.weight`, [dim]),
      t(`blk.${l}.ffn_gate.weight`, [dim, hidden]),
      t(`blk.${l}.ffn_up.weight`, [dim, hidden]),
      t(`blk.${l}.ffn_down.weight`, [hidden, dim]),
    );
  }
  out.push(t('output_norm.weight', [dim]));
  if (!tied) out.push(t('output.weight', [dim, 32000]));
  return out;
}

describe('fallbacks and layer rules', () => {
  const cfg = (layers: number, gqa = 4) => ({
    arch: 'llama' as const,
    nLayers: layers,
    nHeads: 32,
    nKvHeads: 32 / gqa,
  });

  it('rows of 288 (stories15M) leave the K-quants for 32-block types of similar size', () => {
    const tensors = shape(288, 768, 6, true);
    const name = (n: string) => (m: Map<string, GGMLType>) => typeName(m.get(n)!);
    const q = (type: FileType) => tensorTypes(tensors, cfg(6, 1), type);
    expect(name('blk.0.attn_q.weight')(q('q4_k_m'))).toBe('Q5_0');
    expect(name('blk.0.attn_q.weight')(q('q5_k_s'))).toBe('Q5_1');
    expect(name('blk.0.attn_q.weight')(q('q2_k'))).toBe('IQ4_NL');
    expect(name('blk.0.attn_q.weight')(q('q3_k_m'))).toBe('IQ4_NL');
    expect(name('blk.0.attn_q.weight')(q('iq4_xs'))).toBe('IQ4_NL');
    // Six layers: use_more_bits picks layers 2 and 5 (n/8 = 0, 7n/8 = 5, (l − 0) % 3 = 2).
    expect(name('blk.0.attn_v.weight')(q('q4_k_m'))).toBe('Q5_0');
    expect(name('blk.2.attn_v.weight')(q('q4_k_m'))).toBe('Q8_0'); // Q6_K by layer, then its fallback
    // ffn_down rows are 768 = 3·256: K-quants fit.
    expect(name('blk.1.ffn_down.weight')(q('q4_k_m'))).toBe('Q4_K');
    expect(name('blk.2.ffn_down.weight')(q('q4_k_m'))).toBe('Q6_K');
    // The tied embedding is the output: Q6_K, whose 288-wide rows fall back to Q8_0.
    expect(name('token_embd.weight')(q('q4_k_m'))).toBe('Q8_0');
    expect(name('blk.0.attn_norm.weight')(q('q4_k_m'))).toBe('F32');
  });

  it('rows of 172 (stories260K) fall back to F16 where no 32-block type divides them', () => {
    const m = tensorTypes(shape(64, 172, 5, true), cfg(5), 'q4_k_m');
    expect(typeName(m.get('blk.0.ffn_down.weight')!)).toBe('F16');
    expect(typeName(m.get('blk.0.ffn_gate.weight')!)).toBe('Q5_0'); // 64-wide rows
  });

  it('use_more_bits picks the first and last eighth and every third layer for Q4_K_M', () => {
    const m = tensorTypes(shape(2048, 5632, 22, false), cfg(22), 'q4_k_m');
    const six = [...Array(22).keys()].filter((l) => m.get(`blk.${l}.ffn_down.weight`) === GGMLType.Q6_K);
    // n/8 = 2, 7n/8 = 19: layers 0, 1, 19–21, and (l − 2) % 3 = 2 → 4, 7, …, 16.
    expect(six).toEqual([0, 1, 4, 7, 10, 13, 16, 19, 20, 21]);
    expect(m.get('output.weight')).toBe(GGMLType.Q6_K);
    expect(m.get('token_embd.weight')).toBe(GGMLType.Q4_K); // untied: the base type
    // GQA ≥ 4 gives Q2_K's attn_v Q4_K; Q3_K_M's first two attn_v are Q5_K.
    expect(tensorTypes(shape(2048, 5632, 22, false), cfg(22), 'q2_k').get('blk.3.attn_v.weight')).toBe(
      GGMLType.Q4_K,
    );
    const q3 = tensorTypes(shape(2048, 5632, 22, false), cfg(22), 'q3_k_m');
    expect([0, 1, 2].map((l) => typeName(q3.get(`blk.${l}.attn_v.weight`)!))).toEqual([
      'Q5_K',
      'Q5_K',
      'Q4_K',
    ]);
    // ffn_down: Q5_K below n/16 = 1 (layer 0 only), Q4_K after.
    expect([0, 1].map((l) => typeName(q3.get(`blk.${l}.ffn_down.weight`)!))).toEqual(['Q5_K', 'Q4_K']);
  });
});

describe('--type', () => {
  it('takes llama-quantize names in either case and refuses others with UNSUPPORTED_TYPE', () => {
    expect(parseConvertType('Q4_K_M')).toBe('q4_k_m');
    expect(parseConvertType('iq4_xs')).toBe('iq4_xs');
    for (const bad of ['q4_k', 'iq2_xxs', 'q8']) {
      const err = (() => {
        try {
          parseConvertType(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(EdgeLMError);
      expect((err as EdgeLMError).code).toBe('UNSUPPORTED_TYPE');
    }
  });
});
