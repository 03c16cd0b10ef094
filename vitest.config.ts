import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  // Workspace packages (@edgelm/kernels) resolve to their TypeScript source in tests too.
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn with SwiftShader is CPU-heavy; two workers match the two cores CI has.
    maxWorkers: 2,
    env: {
      EDGELM_MODELS_DIR: process.env.EDGELM_MODELS_DIR ?? resolve(import.meta.dirname, '../shared/models'),
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
    },
  },
});
