import { resolve } from 'node:path';

// webpack 5 out of the box: `new Worker(new URL(…, import.meta.url))` and `new URL('….wasm',
// import.meta.url)` are understood natively, so the SDK's worker and onnxruntime-web's wasm are
// emitted without loaders or plugins.
export default (_env, argv) => ({
  mode: argv?.mode ?? 'production',
  entry: './src/main.js',
  output: { path: resolve(import.meta.dirname, 'dist-webpack'), filename: 'main.js', clean: true },
  target: 'web',
  performance: { hints: false },
  devtool: false,
});
