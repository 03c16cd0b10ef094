import { expect, test } from '../fixtures.js';
import { type DemoServers, startDemoServers } from './demo-servers.js';

let servers: DemoServers;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  servers = await startDemoServers();
});

test.afterAll(async () => {
  await servers?.close();
});

test("the playground's structured mode constrains the output to the pasted schema", async ({
  page,
}, info) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1440, height: 1000 });
  page.on('pageerror', (e) => console.error(`[demo] ${e.message}`));
  await page.goto(`${servers.demo}/?mode=structured&backend=cpu&maxTokens=64&temperature=0.8&seed=5`);
  await expect(page.locator('body')).toHaveAttribute('data-model', 'ready', { timeout: 120_000 });
  const schema = {
    type: 'object',
    properties: {
      hero: { type: 'string', maxLength: 10 },
      friends: { type: 'array', items: { enum: ['Tom', 'Sue'] }, maxItems: 2 },
    },
    required: ['hero', 'friends'],
  };
  await page.getByTestId('schema-input').fill(JSON.stringify(schema, null, 2));
  await page.getByTestId('prompt').fill('The story in JSON:');
  await page.getByTestId('generate').click();
  const entry = page.getByTestId('entry').last();
  await expect(entry).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(entry.getByTestId('validity-badge')).toContainText('Valid JSON');
  const value = JSON.parse((await entry.getByTestId('entry-output').textContent()) ?? '') as {
    hero: unknown;
    friends: unknown[];
  };
  expect(typeof value.hero).toBe('string');
  expect(value.friends.every((f) => f === 'Tom' || f === 'Sue')).toBe(true);
  const path = info.outputPath('structured-mode.png');
  await page.screenshot({ path, fullPage: true });
  await info.attach('structured-mode', { path, contentType: 'image/png' });
});
