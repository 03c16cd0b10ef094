// The pure parts of `pnpm bench:gpu`: the bytes-per-token accounting against a synthesized
// file's tensor table, the llama.cpp type mix it writes, the bandwidth kernel's byte count
// (checked by its sum on a real device), and the adapter-dependent defaults.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { create, globals } from 'webgpu';
import { measureBandwidth, READ_WG, readKernelBytes, wordSum } from '../bench/gpu/bandwidth.js';
import { bytesPerToken } from '../bench/gpu/bytes.js';
import { parseGpuBenchArgs, resolveOptions } from '../bench/gpu/options.js';
import type { BenchShape } from '../bench/gpu/shapes.js';
import { EOS, synthesize } from '../bench/gpu/synth.js';
import { GGML_BLOCK, GGMLType } from '../src/formats/ggml-types.js';
import { openModel } from '../src/formats/open-model.js';
import { fileSource } from '../src/node/file-source.js';

const dir = mkdtempSync(join(tmpdir(), 'edgelm-bench-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = (tied: boolean): BenchShape => ({
  name: `tiny-${tied ? 'tied' : 'untied'}`,
  like: 'test',
  arch: tied ? 'qwen2' : 'llama',
  dim: 256,
  hidden: 512,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 320,
  tied,
  qkvBias: tied,
  ropeBase: 10000,
  contextLength: 64,
});

const bytesOf = (type: GGMLType, elements: number) =>
  (elements / GGML_BLOCK[type].blockSize) * GGML_BLOCK[type].blockBytes;

async function tensorsOf(path: string) {
  const src = await fileSource(path);
  try {
    return (await openModel(src)).tensors;
  } finally {
    await src.close();
  }
}

describe('bench:gpu bytes per token', () => {
  it('counts every weight once, the untied embedding as one row', async () => {
    const s = tiny(false);
    const f = await synthesize(s, 'q4_k_m', dir);
    const tensors = await tensorsOf(f.path);
    const type = (n: string) => tensors.find((t) => t.name === n)!.type;
    // llama.cpp's Q4_K_M: the output, and attn_v/ffn_down where use_more_bits says (of 2 layers: the last), in Q6_K.
    expect(type('output.weight')).toBe(GGMLType.Q6_K);
    expect(type('blk.0.attn_v.weight')).toBe(GGMLType.Q4_K);
    expect(type('blk.1.attn_v.weight')).toBe(GGMLType.Q6_K);
    expect(type('blk.0.attn_q.weight')).toBe(GGMLType.Q4_K);
    expect(type('token_embd.weight')).toBe(GGMLType.Q4_K);
    // Expected sizes from the shapes alone.
    const kv = 2 * 64;
    const layer = (more: GGMLType) =>
      bytesOf(GGMLType.Q4_K, 256 * 256) * 2 + // q, output
      bytesOf(GGMLType.Q4_K, 256 * kv) + // k
      bytesOf(more, 256 * kv) + // v
      bytesOf(GGMLType.Q4_K, 256 * 512) * 2 + // gate, up
      bytesOf(more, 512 * 256) + // down
      2 * 256 * 4; // norms
    const embdRow = bytesOf(GGMLType.Q4_K, 256);
    const expected =
      layer(GGMLType.Q4_K) + layer(GGMLType.Q6_K) + 256 * 4 + bytesOf(GGMLType.Q6_K, 256 * 320) + embdRow;
    const b = bytesPerToken(tensors);
    expect(b.perToken).toBe(expected);
    expect(b.classifier).toBe(bytesOf(GGMLType.Q6_K, 256 * 320));
    expect(b.fileTensorBytes).toBe(expected - embdRow + bytesOf(GGMLType.Q4_K, 256 * 320));
    // The cache answers a rerun without writing.
    expect((await synthesize(s, 'q4_k_m', dir)).writeSeconds).toBe(0);
  });

  it('reads a tied embedding whole as the classifier, biases included', async () => {
    const f = await synthesize(tiny(true), 'q8_0', dir);
    const tensors = await tensorsOf(f.path);
    const b = bytesPerToken(tensors);
    const all = tensors.reduce((n, t) => n + t.byteLength, 0);
    expect(tensors.some((t) => t.name === 'blk.1.attn_k.bias')).toBe(true);
    expect(b.perToken).toBe(all);
    expect(b.classifier).toBe(bytesOf(GGMLType.Q8_0, 256 * 320));
    // The EOS row of the classifier is zero, so random weights never stop a decode run early.
    const src = await fileSource(f.path);
    const model = await openModel(src);
    const embd = await model.readTensor(model.tensors.find((t) => t.name === 'token_embd.weight')!);
    await src.close();
    const row = bytesOf(GGMLType.Q8_0, 256);
    expect(embd.subarray(EOS * row, (EOS + 1) * row).every((x) => x === 0)).toBe(true);
    expect(embd.subarray((EOS + 1) * row, (EOS + 2) * row).some((x) => x !== 0)).toBe(true);
  });
});

describe('bench:gpu bandwidth kernel', () => {
  it('credits a dispatch with the whole buffer read and one word per invocation written', () => {
    expect(readKernelBytes(1 << 20, 4)).toEqual({ read: 1 << 20, written: 4 * READ_WG * 4 });
    expect(() => readKernelBytes(1000, 1)).toThrow(RangeError);
    expect(wordSum(Uint32Array.of(0xffffffff, 2))).toBe(1);
  });

  it('reads every word of the buffer once (its sum matches the CPU sum)', async () => {
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    expect(adapter).not.toBeNull();
    const device = await adapter!.requestDevice();
    // 1 MiB + 16 bytes over 3 workgroups: a grid stride that does not divide the buffer.
    const r = await measureBandwidth(device, {
      bufferBytes: (1 << 20) + 16,
      workgroups: 3,
      targetMs: 2,
      trials: 1,
    });
    device.destroy();
    expect(r.verified).toBe(true);
    expect(r.readGBps).toBeGreaterThan(0);
    expect(r.copyGBps).toBeGreaterThan(0);
    expect(gpu).toBeDefined(); // held until here: collecting Dawn's instance tears its devices down
  });
});

describe('bench:gpu defaults', () => {
  it('runs everything on a GPU and the small shapes on a CPU emulation, flags winning', () => {
    const gpu = resolveOptions(parseGpuBenchArgs([]), false, '/r');
    expect(gpu.models.map((m) => m.name)).toEqual(['stories110M', 'qwen2.5-0.5b', 'llama3.2-1b']);
    expect(gpu.types).toEqual(['q4_k_m', 'q8_0']);
    expect([gpu.ttftPrompt, gpu.decodeTokens >= 64, gpu.notes.length]).toEqual([1024, true, 0]);
    const cpu = resolveOptions(parseGpuBenchArgs([]), true, '/r');
    expect(cpu.models.map((m) => m.name)).not.toContain('llama3.2-1b');
    expect(cpu.notes.join('\n')).toMatch(/llama3.2-1b skipped/);
    const forced = resolveOptions(
      parseGpuBenchArgs(['--models', 'llama3.2-1b', '--types', 'Q8_0', '--prompt', '1024']),
      true,
      '/r',
    );
    expect([forced.models[0]!.name, forced.types, forced.ttftPrompt]).toEqual([
      'llama3.2-1b',
      ['q8_0'],
      1024,
    ]);
    expect(() => parseGpuBenchArgs(['--models', 'gpt5'])).toThrow(/Unknown model/);
  });
});
