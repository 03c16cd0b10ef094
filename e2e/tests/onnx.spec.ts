import { expect, test } from '@playwright/test';
import type { OnnxCheckResult } from '../harness/onnx.js';

const OPENING =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

// SwiftShader emulates the GPU on the CPU: each ORT WebGPU step costs tens of milliseconds.
const STEPS = 30;

for (const ep of ['wasm', 'webgpu'] as const) {
  test(`stories260K exported to ONNX runs on onnxruntime-web ${ep} like the CPU reference`, async ({
    page,
  }) => {
    test.setTimeout(300_000);
    await page.goto('/harness/onnx.html');
    await page.waitForFunction(() => typeof window.onnxCheck === 'function');
    const r: OnnxCheckResult = await page.evaluate(([e, n]) => window.onnxCheck(e, n), [ep, STEPS] as const);
    expect(r.executionProvider).toBe(ep);
    expect(r.steps).toBe(STEPS);
    expect(r.text).toBe(r.referenceText);
    expect(r.text.startsWith(OPENING.slice(0, r.text.length))).toBe(true);
    expect(r.maxDiff).toBeLessThan(1e-3);
  });
}
