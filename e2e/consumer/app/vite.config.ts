import { defineConfig } from 'vite';

// What the README asks of a Vite app: module workers (the engine's worker is an ES module).
// Cross-origin isolation only lets onnxruntime-web use threads; the app works without it.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  worker: { format: 'es' },
  publicDir: 'public',
  server: { host: '127.0.0.1', strictPort: true, headers: isolation },
  build: { outDir: 'dist-vite', target: 'es2022' },
});
