import { resolve } from 'node:path';
import { defineConfig, type ProxyOptions } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { modelsDir } from './plugins/models-dir.js';

// Cross-origin isolation (SharedArrayBuffer, threaded wasm, precise timers) on every response of
// both servers; the service worker keeps these headers with what it precaches.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The fallback server is reached through a same-origin proxy, so it needs no CORS setup.
const remoteTarget = process.env.EDGELM_REMOTE_URL;
const proxy: Record<string, ProxyOptions> | undefined = remoteTarget
  ? { '/remote': { target: remoteTarget, changeOrigin: true, rewrite: (p) => p.replace(/^\/remote/, '') } }
  : undefined;

const port = Number(process.env.PORT ?? 5173);

export default defineConfig({
  resolve: { conditions: ['source'] },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', port, headers: isolation, proxy },
  preview: { host: '127.0.0.1', port, headers: isolation, proxy },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        bench: resolve(import.meta.dirname, 'bench.html'),
      },
    },
  },
  plugins: [
    modelsDir({ dir: process.env.EDGELM_MODELS_DIR, remote: remoteTarget !== undefined }),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: 'script-defer',
      manifest: {
        name: 'edgelm playground',
        short_name: 'edgelm',
        description: 'Language models running in your browser on WebGPU, offline.',
        theme_color: '#0f1115',
        background_color: '#0f1115',
        display: 'standalone',
        start_url: '/',
        icons: [
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
        ],
      },
      workbox: {
        // The app shell and the engine worker; model bytes live in the SDK's IndexedDB store.
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/models\//, /^\/remote\//, /^\/__edgelm\//, /^\/bench/],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
        // onnxruntime-web's wasm (~28 MB) is only needed for ONNX models: cached on first use.
        runtimeCaching: [
          {
            urlPattern: ({ url }) => url.pathname.endsWith('.wasm'),
            handler: 'CacheFirst',
            options: { cacheName: 'edgelm-wasm', expiration: { maxEntries: 8 } },
          },
        ],
      },
    }),
  ],
});
