// Every architecture's synthetic GGUF (llama.cpp's converter layout) through the CPU backends,
// against the reference forward pass: a prompt as one prefill step, then single-token decodes.

import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { convertToGgufBytes } from '../src/formats/convert.js';
import { openModel } from '../src/formats/open-model.js';
import { featureNames } from '../src/model/features.js';
import type { ModelFile } from '../src/model/model-file.js';
import { ARCH_SAMPLES, type ArchSampleName } from '../src/synth/arch-gguf.js';
import {
  ARCH_DECODE,
  ARCH_PROMPT,
  type ArchCase,
  archReferenceRun,
  archSample,
  maxAbsDiff,
} from './helpers/arch.js';

const NAMES: ArchCase[] = [...(Object.keys(ARCH_SAMPLES) as ArchSampleName[]), 'gemma3+softcaps'];
const PROMPT = ARCH_PROMPT;
const DECODE = ARCH_DECODE;
const sample = archSample;
const referenceRun = archReferenceRun;

describe('architecture descriptions read from GGUF', () => {
  it('names each architecture by its features', async () => {
    const f = Object.fromEntries(
      await Promise.all(NAMES.map(async (n) => [n, featureNames((await sample(n)).config).join(', ')])),
    );
    expect(f.llama3).toContain('rope factors rope_freqs.weight');
    expect(f.qwen2).toContain('q/k/v bias');
    expect(f.qwen3).toContain('q/k norm');
    expect(f.gemma3).toMatch(/sliding window 5 on 5\/6 layers.*/);
    expect(f.gemma3).toContain('GeGLU (tanh)');
    expect(f.gemma3).toContain('post-attention/FFN norms');
    expect(f.phi3).toContain('fused attn_qkv');
    expect(f.phi3).toContain('rope factors rope_factors_long.weight');
  });

  it('splits phi3 fused tensors into row views of the same bytes', async () => {
    const m = await sample('phi3');
    const names = m.tensors.map((t) => t.name);
    expect(names).toContain('blk.0.attn_q.weight');
    expect(names).toContain('blk.0.ffn_gate.weight');
    expect(names).not.toContain('blk.0.attn_qkv.weight');
    const q = m.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
    const k = m.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!;
    expect(k.offset).toBe(q.offset + q.byteLength);
  });

  it('every feature changes the reference (none is silently ignored)', async () => {
    const ref = await referenceRun(await sample('llama3'));
    const m = await sample('llama3');
    const plain: ModelFile = {
      ...m,
      config: {
        ...m.config,
        features: { ...m.config.features, rope: { ...m.config.features.rope, factors: null } },
      },
    };
    const without = await referenceRun(plain);
    expect(maxAbsDiff(ref.logits[0]!, without.logits[0]!)).toBeGreaterThan(1e-3);
  });
});

describe.each(NAMES)('%s on the CPU backends', (name) => {
  it.each(['wasm'] as const)('%s kernels follow the reference within 1e-4', async (kernels) => {
    const model = await sample(name);
    const want = await referenceRun(model);
    // pageSize 3: gemma3's window of 5 starts off a page boundary at most positions.
    const backend = await createCpuBackend(model, { pageSize: 3, pageCount: 12, kvCache: 'f32' });
    const pages = Int32Array.from({ length: 7 }, (_, i) => 11 - i);
    const [first] = await backend.forward([{ tokens: PROMPT, startPos: 0, pages }]);
    let worst = maxAbsDiff(first!, want.logits[0]!);
    for (let i = 0; i < DECODE - 1; i++) {
      const pos = PROMPT.length + i;
      const [l] = await backend.forward([{ tokens: [want.tokens[pos]!], startPos: pos, pages }]);
      worst = Math.max(worst, maxAbsDiff(l!, want.logits[i + 1]!));
    }
    expect(worst).toBeLessThan(1e-4);
    backend.dispose();
  });
});

describe('converting an architecture sample', () => {
  it.each(Object.keys(ARCH_SAMPLES) as ArchSampleName[])(
    '%s to q8_0 reads back with the same description',
    async (name) => {
      const m = await archSample(name);
      const back = await openModel(bytesSource(await convertToGgufBytes(m, 'q8_0'), `${name}.q8_0.gguf`));
      // Fused tensors are written split (edgelm reads either layout); everything else round-trips.
      const unfused = { ...m.config.features, fused: { qkv: false, gateUp: false } };
      expect(back.config).toEqual({ ...m.config, features: unfused });
    },
  );
});
