// Copies onnxruntime-web's wasm binaries and their glue into dist/ort/, where the 'onnx' backend
// looks for them by default (ort-runtime.ts: new URL('../../ort/', import.meta.url)), so the SDK
// serves its own runtime files and never points the browser at a CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const from = dirname(require.resolve('onnxruntime-web'));
const to = join(import.meta.dirname, '../dist/ort');
mkdirSync(to, { recursive: true });
for (const variant of ['ort-wasm-simd-threaded', 'ort-wasm-simd-threaded.jsep']) {
  for (const ext of ['.wasm', '.mjs']) copyFileSync(join(from, variant + ext), join(to, variant + ext));
}
