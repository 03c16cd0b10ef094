import { describe, expect, it } from 'vitest';
import type { BindingSpec } from '../src/gpu/bindings.js';
import { bindingsWgsl } from '../src/gpu/bindings.js';
import { bindGroup, Dispatch } from '../src/gpu/dispatch.js';
import { F16_ROUND_WGSL, f16Round } from '../src/quant/f16.js';
import { emptyBuffer, readF32, run, testGpu, upload } from './helpers/gpu.js';
import { randomF32 } from './helpers/random.js';

// f16r / f16r4 (the f16 cache's rounding in WGSL) must give exactly what f32ToF16 → f16ToF32
// gives, ties to even included, on both sides of f16's normal range.
const bindings: BindingSpec[] = [
  { name: 'X', access: 'read', type: 'array<vec4f>' },
  { name: 'Y', access: 'read_write', type: 'array<vec4f>' },
];

describe('f16r (WGSL rounding to f16 values)', () => {
  it('matches the CPU rounding bit for bit, scalar and vec4', async () => {
    const { device, cache } = await testGpu();
    const f = Math.fround;
    const special = [0, -0, 1, -1, 65504, 2 ** -14, 2 ** -24, 3 * 2 ** -25, 2 ** -25, 5e-8, -6.1e-5, 1e-6];
    // Exact ties between neighbouring halves: 1 + (2k+1)·2^-11 rounds to even.
    const ties = Array.from({ length: 16 }, (_, k) => f(1 + (2 * k + 1) * 2 ** -11));
    const scale = randomF32(64, 7, 1).map((r, i) => r * 10 ** ((i % 12) - 8));
    const x = Float32Array.from([...special, ...ties, ...randomF32(64, 3, 8), ...scale]);
    const n = Math.ceil(x.length / 8) * 8;
    const input = new Float32Array(n);
    input.set(x);
    const program = await cache.prepare({
      op: 'f16r_test',
      variant: {},
      build: () => ({
        bindings,
        workgroupSize: 64,
        wgsl: `${bindingsWgsl(bindings)}
${F16_ROUND_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= arrayLength(&X)) { return; }
  // Even vectors through f16r4, odd ones element by element through f16r.
  let v = X[i];
  Y[i] = select(vec4f(f16r(v.x), f16r(v.y), f16r(v.z), f16r(v.w)), f16r4(v), i % 2u == 0u);
}`,
      }),
    });
    const y = emptyBuffer(device, n * 4);
    const d = new Dispatch(program, bindGroup(device, program, { X: upload(device, input), Y: y }));
    await run(device, (pass) => d.encode(pass, Math.ceil(n / 4 / 64)));
    const got = await readF32(device, y, n);
    const want = input.map(f16Round);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    // ±0 may keep or lose its sign through round(); compare zeros by value.
    expect(
      Array.from(got, (v, i) => (v === 0 && want[i] === 0 ? 0 : bits(got.subarray(i, i + 1))[0])),
    ).toEqual(Array.from(want, (v, i) => (v === 0 && got[i] === 0 ? 0 : bits(want.subarray(i, i + 1))[0])));
  });
});
