import { expect, test } from '../fixtures.js';

const SIZE = 256 * 1024 * 1024;

test('an abort signal given at createEngine cancels the load in the worker', async ({
  page,
  harness,
  server,
}) => {
  await harness('load-abort');
  const url = `/synthetic/abort.bin?size=${SIZE}`;
  const r = await page.evaluate((u) => window.loadAbort(u), url);
  expect(r.code).toBe('ABORTED');
  expect(r.progressEvents).toBeGreaterThan(0);
  // The worker stopped downloading: far less than the file was sent, and nothing more is asked.
  const sent = (await server.statsOf('/synthetic/abort.bin')).bytes;
  expect(sent).toBeLessThan(SIZE / 2);
  await page.waitForTimeout(500);
  expect((await server.statsOf('/synthetic/abort.bin')).bytes).toBeLessThan(SIZE / 2);
});
