// The fallback server the demo's remote route talks to: packages/server running stories260K with
// its llama2.c header widened from 512 to 2,048 positions, so that a request too large for the
// device (512) fits the server, as a larger server model would. RoPE has no trained limit; only
// the header's seq_len stops the engine. The legacy file keeps RoPE tables of seq_len rows after
// the final norm (its classifier is shared, so they end the file): widening appends zero rows,
// which the engine never reads since it computes RoPE itself. Used by the e2e specs and by hand:
//   EDGELM_MODELS_DIR=… PORT=8787 node --import tsx packages/demo/scripts/remote-server.ts

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SERVER_CONTEXT = 2048;
/** seq_len is the 7th int32 of the llama2.c header (dim, hidden, layers, heads, kv heads, vocab, seq_len). */
const SEQ_LEN_OFFSET = 24;

const dir = process.env.EDGELM_MODELS_DIR ?? resolve(import.meta.dirname, '../../../../shared/models');
const original = await readFile(join(dir, 'stories260K.bin'));
const header = new DataView(original.buffer, original.byteOffset, 28);
const headSize = header.getInt32(0, true) / header.getInt32(12, true);
const extraRows = SERVER_CONTEXT - header.getInt32(SEQ_LEN_OFFSET, true);
// freq_cis_real and freq_cis_imag: seq_len × head_size / 2 float32 each.
const bytes = new Uint8Array(original.byteLength + extraRows * headSize * 4);
bytes.set(original);
new DataView(bytes.buffer).setInt32(SEQ_LEN_OFFSET, SERVER_CONTEXT, true);
const work = await mkdtemp(join(tmpdir(), 'edgelm-remote-'));
const model = join(work, 'stories260K-wide.bin');
await writeFile(model, bytes);

const main = resolve(import.meta.dirname, '../../server/src/main.ts');
const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main], {
  stdio: 'inherit',
  env: {
    ...process.env,
    MODEL: model,
    TOKENIZER: join(dir, 'tok512.bin'),
    MODEL_NAME: process.env.MODEL_NAME ?? 'stories260K-server',
    PORT: process.env.PORT ?? '8787',
    EDGELM_BACKEND: process.env.EDGELM_BACKEND ?? 'cpu',
    // The demo page is served from another origin; the server sends no CORS headers unless told to.
    CORS_ORIGINS: process.env.CORS_ORIGINS ?? '*',
  },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => {
  rmSync(work, { recursive: true, force: true });
  process.exit(code ?? 0);
});
