import { expect, test } from '../fixtures.js';

const OPENING = ', there was a little girl named Lily. She loved to play outside in the park.';

test.describe('engine in a Web Worker', () => {
  test('streams the reference story while the page main thread stays responsive', async ({
    page,
    harness,
  }) => {
    await harness('engine');
    // WebGPU on SwiftShader keeps the worker busy for seconds: a long window to watch the page in.
    const info = await page.evaluate(() => window.engineHarness.load('auto'));
    expect(info.ok).toBe(true);
    const r = await page.evaluate(() => window.engineHarness.generate('Once upon a time', 200));
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    const v = r.value;
    console.log(
      `worker generate: ${v.tokens} tokens in ${v.generateMs.toFixed(0)} ms; main thread: ${v.ticks} timer ticks, longest gap ${v.maxTimerGapMs.toFixed(1)} ms, long tasks ${JSON.stringify(v.longTasks.map(Math.round))}`,
    );
    expect(v.text.startsWith(OPENING)).toBe(true);
    expect(v.chunks).toBeGreaterThan(50);
    // The model runs in the worker: the page never blocks for as long as a frame budget few times over.
    expect(v.longTasks.filter((d) => d >= 100)).toEqual([]);
    expect(v.maxTimerGapMs).toBeLessThan(100);
    expect(v.ticks).toBeGreaterThan(v.generateMs / 20);
  });

  test('picks WebGPU for auto on a page with an adapter and gives the same text', async ({
    page,
    harness,
  }) => {
    await harness('engine');
    const info = await page.evaluate(() => window.engineHarness.load('auto'));
    if (!info.ok) throw new Error(`${info.code}: ${info.message}`);
    expect(info.value.backend).toBe('webgpu');
    expect(info.value.adapter?.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(info.value.adapter?.features.length).toBeGreaterThan(0);
    const r = await page.evaluate(() => window.engineHarness.generate('Once upon a time', 24));
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    expect(r.value.text.startsWith(OPENING.slice(0, 40))).toBe(true);
  });

  test('an abort stops the stream, the engine serves the next request, typed errors cross the worker', async ({
    page,
    harness,
  }) => {
    await harness('engine');
    expect((await page.evaluate(() => window.engineHarness.load('cpu'))).ok).toBe(true);
    const r = await page.evaluate(() => window.engineHarness.abortThenAgain('Once upon a time', 5));
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    expect(r.value.finish).toBe('abort');
    // The abort crosses to the worker while the wasm CPU path streams thousands of tokens a second:
    // what counts is that the stream ends as aborted, long before its 400 tokens.
    expect(r.value.chunks).toBeLessThan(300);
    expect(r.value.next.startsWith(OPENING.slice(0, 40))).toBe(true);
    const o = await page.evaluate(() => window.engineHarness.overflow());
    expect(o).toMatchObject({ ok: false, code: 'CONTEXT_OVERFLOW' });
  });
});
