import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../src/formats/onnx/export.js';
import { exportOnnxToDir } from '../src/formats/onnx/export-dir.js';
import { dequantizeNBits, quantizeNBits } from '../src/formats/onnx/matmul-nbits.js';
import { modelConfigFromJson, tokenizerFromJson } from '../src/formats/onnx/onnx-config.js';
import { decodeModel } from '../src/formats/onnx/onnx-proto.js';
import { modelsDir, openStories260K } from './helpers/models.js';

describe('ONNX exporter', () => {
  it('writes the Optimum decoder interface: ids, mask, positions and past KV in; logits and present KV out', async () => {
    const model = await openStories260K();
    const out = await exportOnnx(model, { weights: 'int4' });
    const proto = decodeModel(out.model);
    // protobuf leaves the default domain '' off the wire
    expect(proto.opsetImport.map((o) => [o.domain ?? '', o.version])).toEqual([
      ['', 17],
      ['com.microsoft', 1],
    ]);
    const g = proto.graph;
    const names = (vs: { name: string }[]) => vs.map((v) => v.name);
    expect(names(g.input).slice(0, 5)).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      'past_key_values.0.key',
      'past_key_values.0.value',
    ]);
    expect(g.input).toHaveLength(3 + 2 * 5);
    expect(names(g.output)).toContain('present.4.value');
    expect(names(g.output)).toContain('logits');
    const past = g.input[3].type.tensorType;
    expect(past.elemType).toBe(1);
    expect(past.shape.dim).toEqual([
      { dimParam: 'batch_size' },
      { dimValue: 4 },
      { dimParam: 'past_sequence_length' },
      { dimValue: 8 },
    ]);
    // 7 linear layers per block plus the classifier, all 4-bit.
    const nbits = g.node.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits).toHaveLength(5 * 7 + 1);
    expect(nbits.every((n) => n.domain === 'com.microsoft')).toBe(true);
    expect(g.node.some((n) => n.opType === 'MatMul' && n.input[1]?.endsWith('_proj'))).toBe(false);
  });

  it('round-trips config and tokenizer through the files it writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgelm-onnx-'));
    try {
      const res = await exportOnnxToDir(join(modelsDir(), 'stories260K.bin'), dir, {
        weights: 'f32',
        tokenizer: join(modelsDir(), 'tok512.bin'),
      });
      const model = await openStories260K();
      expect(modelConfigFromJson(JSON.parse(await readFile(res.config, 'utf8')))).toEqual(model.config);
      const tok = tokenizerFromJson(JSON.parse(await readFile(res.tokenizer, 'utf8')));
      expect(tok.tokens).toEqual(model.tokenizer.tokens);
      // JSON has no −0; adding +0 turns −0 into 0 and leaves every other score as it is.
      expect(tok.scores).toEqual(model.tokenizer.scores.map((x) => x + 0));
      expect((await readFile(res.model)).byteLength).toBe(res.bytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('quantizes blocks of 32 with the Q4_0 / Q8_0 rules, padding a ragged last block', () => {
    const n = 3;
    const k = 40; // one full block and one of 8
    const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    for (const bits of [4, 8] as const) {
      const q = quantizeNBits(w, n, k, bits);
      expect(q.packed.byteLength).toBe(n * 2 * ((32 * bits) / 8));
      const back = dequantizeNBits(q, n, k, bits);
      for (let i = 0; i < w.length; i++) {
        const scale = Math.abs(q.scales[Math.floor(i / k) * 2 + Math.floor((i % k) / 32)]);
        expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
    // The extreme value of a 4-bit block is exact: it maps to −8 × d.
    const q4 = quantizeNBits(w, n, k, 4);
    const back4 = dequantizeNBits(q4, n, k, 4);
    let extreme = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(w[j]) > Math.abs(extreme)) extreme = w[j];
    expect(back4[w.indexOf(extreme)]).toBeCloseTo(extreme, 5);
  });
});
