import { defineConfig } from '@playwright/test';
import { launchOptions } from './lib/chromium.js';

const port = Number(process.env.EDGELM_E2E_PORT ?? 5178);
const baseURL = `http://127.0.0.1:${port}`;

/**
 * One worker: the machine has two cores, and SwiftShader WebGPU is CPU-bound. The webServer
 * bundles `harness/*.ts` and serves models, synthetic files and the control API (server/).
 */
export default defineConfig({
  testDir: './tests',
  workers: Number(process.env.EDGELM_E2E_WORKERS ?? 1),
  timeout: 120_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  outputDir: 'test-results',
  use: {
    baseURL,
    launchOptions: launchOptions(),
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: 'node --import tsx server/main.ts',
    url: `${baseURL}/__control/health`,
    env: { EDGELM_E2E_PORT: String(port) },
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'pipe',
  },
});
