import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, type Page } from '@playwright/test';
import { launchProfile } from './lib/chromium.js';
import { ServerControl } from './lib/server-control.js';

export { expect } from '@playwright/test';

export interface Options {
  /**
   * `'ephemeral'` (default): a new context of the shared browser, its storage in memory; cheap.
   * `'disk'`: a browser of its own on a new on-disk profile, for specs about persistent storage
   * (IndexedDB files, quota); costs a browser start per test. Either way, fresh for every test.
   */
  profile: 'ephemeral' | 'disk';
}

export interface Fixtures {
  /** Control API of the test server; counters and faults are reset before each test. */
  server: ServerControl;
  /** Opens `/harness/<name>.html` (the bundle of `e2e/harness/<name>.ts`), logging page errors. */
  harness: (name: string, page?: Page) => Promise<Page>;
}

/** Playwright's `test` with the edgelm fixtures; import `test` and `expect` from here in specs. */
export const test = base.extend<Fixtures & Options>({
  profile: ['ephemeral', { option: true }],
  // `page` opens in whichever context this gives.
  context: async ({ profile, baseURL, context }, use) => {
    if (profile === 'ephemeral') return use(context);
    const dir = await mkdtemp(join(tmpdir(), 'edgelm-e2e-'));
    const own = await launchProfile(dir, baseURL);
    await use(own);
    await own.close();
    await rm(dir, { recursive: true, force: true });
  },
  server: async ({ baseURL }, use) => {
    const server = new ServerControl(baseURL!);
    await server.reset();
    await use(server);
  },
  harness: async ({ page }, use) => {
    await use(async (name, p = page) => {
      p.on('pageerror', (e) => console.error(`[${name}] ${e.message}`));
      await p.goto(`/harness/${name}.html`);
      return p;
    });
  },
});
