import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileWat, GENERATED_PATH, moduleSource, renderGenerated } from '../scripts/build-wasm.js';
import { wasmKernelsSupported } from '../src/backends/cpu/wasm/kernels.js';

describe('generated CPU kernels module', () => {
  it('is what kernels.wat compiles to (run scripts/build-wasm.ts after editing the .wat or wasm/gen/)', async () => {
    const bytes = await compileWat(moduleSource());
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(renderGenerated(bytes));
  });

  it('validates in this engine (Node has WebAssembly SIMD)', () => {
    expect(wasmKernelsSupported()).toBe(true);
  });
});
