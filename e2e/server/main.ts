import { buildHarness } from './harness-build.js';
import { startTestServer } from './test-server.js';

/** Entry of Playwright's webServer: bundle the harness, then serve until killed. */
const port = Number(process.env.EDGELM_E2E_PORT ?? 5178);
const files = await buildHarness();
const server = await startTestServer({ port, files });
console.log(`edgelm e2e server on ${server.url} (harness: ${[...files.keys()].join(', ')})`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void server.close().then(() => process.exit(0)));
}
