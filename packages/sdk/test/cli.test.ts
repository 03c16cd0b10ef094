import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { modelsDir, REFERENCE_OPENING } from './helpers/models.js';

const run = promisify(execFile);
const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');

async function edgelm(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, EDGELM_MODELS_DIR: modelsDir() },
      timeout: 60_000,
    });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

describe('edgelm CLI', () => {
  it('generate prints the story of the default model', async () => {
    const r = await edgelm('generate', '-n', '40');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(REFERENCE_OPENING.slice(0, 90))).toBe(true);
    expect(r.stderr).toMatch(/tok\/s/);
  });

  it('inspect prints configuration and tensors; convert and synth write GGUF files that inspect reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgelm-cli-'));
    const bin = join(modelsDir(), 'stories260K.bin');
    const info = await edgelm('inspect', bin, '--tokenizer', join(modelsDir(), 'tok512.bin'));
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/"dim":64/);
    expect(info.stdout).toMatch(/blk\.4\.ffn_down\.weight/);
    const out = join(dir, 'q8.gguf');
    expect((await edgelm('convert', bin, '-o', out, '--type', 'q8_0')).code).toBe(0);
    const q = await edgelm('inspect', out);
    expect(q.stdout).toMatch(/Q8_0/);
    const gen = await edgelm('generate', out, '-n', '20');
    expect(gen.stdout.startsWith('Once upon a time, there was a little girl')).toBe(true);
    const synth = join(dir, 'synth.gguf');
    const s = await edgelm('synth', '--shape', 'stories15M', '-o', synth, '--type', 'q4_0', '--seed', '3');
    expect(s.code).toBe(0);
    const si = await edgelm('inspect', synth);
    expect(si.stdout).toMatch(/"dim":288/);
    expect(si.stdout).toMatch(/Q4_0/);
  });

  it('synth --arch writes each architecture sample; inspect names its features; generate runs it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgelm-cli-arch-'));
    const archs = ['llama', 'llama3', 'qwen2', 'qwen3', 'gemma3', 'phi3'];
    await Promise.all(
      archs.map(async (a) => {
        const file = join(dir, `${a}.gguf`);
        expect((await edgelm('synth', '--arch', a, '-o', file)).code).toBe(0);
        const gen = await edgelm('generate', file, '-p', 'Thecat', '-n', '8', '--backend', 'cpu');
        expect(gen.code).toBe(0);
        expect(gen.stdout.startsWith('Thecat')).toBe(true);
        expect(gen.stderr).toMatch(/7 prompt \+ \d+ tokens/);
      }),
    );
    const g = await edgelm('inspect', join(dir, 'gemma3.gguf'));
    expect(g.stdout).toMatch(/^arch {6}gemma3: .*q\/k norm.*GeGLU.*sliding window 5 on 5\/6 layers/m);
    const p = await edgelm('inspect', join(dir, 'phi3.gguf'));
    expect(p.stdout).toMatch(/^arch {6}phi3: .*rope factors rope_factors_long\.weight.*fused attn_qkv/m);
  });

  it('inspect of a corrupt file prints the typed error and exits non-zero', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgelm-cli-'));
    const bytes = await readFile(join(modelsDir(), 'stories260K.bin'));
    const cut = join(dir, 'cut.bin');
    await writeFile(cut, bytes.subarray(0, 5000));
    const r = await edgelm('inspect', cut, '--tokenizer', join(modelsDir(), 'tok512.bin'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/edgelm: TRUNCATED:/);
    const junk = join(dir, 'junk.gguf');
    await writeFile(junk, Buffer.from('GGUF\x07\x00\x00\x00 and then nonsense'));
    const j = await edgelm('inspect', junk);
    expect(j.code).not.toBe(0);
    expect(j.stderr).toMatch(/edgelm: (UNSUPPORTED_VERSION|TRUNCATED|CORRUPT):/);
  });
});
