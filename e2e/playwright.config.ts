import { defineConfig } from '@playwright/test';
import { launchOptions } from './lib/chromium.js';

// A port of this run's own unless one is given: several runs on one machine must not share a
// server (its counters and faults are per test). Workers inherit the variable, so all agree.
process.env.EDGELM_E2E_PORT ??= String(20_000 + (process.pid % 20_000));
const port = Number(process.env.EDGELM_E2E_PORT);
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
    // Set EDGELM_E2E_REUSE=1 (with EDGELM_E2E_PORT) to drive a server started by hand.
    reuseExistingServer: process.env.EDGELM_E2E_REUSE === '1',
    timeout: 60_000,
    stdout: 'pipe',
  },
});
