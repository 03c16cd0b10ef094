import { uniform as kernelUniform, rngWgsl } from '@edgelm/kernels';
import { describe, expect, it } from 'vitest';
import { uniform } from '../src/sampler/rng.js';
import { dawnDevice } from './helpers/webgpu.js';

// The kernels package keeps its own copy of the sampler's RNG; the GPU sampler must draw exactly
// what the CPU sampler draws, so all three (SDK, kernels TS, kernels WGSL) are compared bit for bit.
const seeds = [0, 1, 0x5eed, 0xdeadbeef, 0xffffffff];
const counters = [0, 1, 2, 17, 511, 65535, 0x7fffffff, 0xfffffffe];

describe('counter-based RNG copies agree', () => {
  it('kernels TypeScript copy equals the SDK', () => {
    for (const s of seeds) for (const c of counters) expect(kernelUniform(s, c)).toBe(uniform(s, c));
  });

  it('WGSL copy equals the SDK on the device', async () => {
    const device = await dawnDevice();
    const n = seeds.length * counters.length;
    const input = new Uint32Array(n * 2);
    seeds.forEach((s, i) => {
      counters.forEach((c, j) => {
        input.set([s, c], (i * counters.length + j) * 2);
      });
    });
    const inBuf = device.createBuffer({
      size: input.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(inBuf, 0, input);
    const outBuf = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const module = device.createShaderModule({
      code: `${rngWgsl}
@group(0) @binding(0) var<storage, read> IN: array<u32>;
@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&OUT)) { OUT[g.x] = rng_uniform(IN[2u * g.x], IN[2u * g.x + 1u]); }
}`,
    });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: inBuf } },
          { binding: 1, resource: { buffer: outBuf } },
        ],
      }),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(outBuf, 0, read, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = Array.from(new Float32Array(read.getMappedRange()));
    read.unmap();
    const want = seeds.flatMap((s) => counters.map((c) => uniform(s, c)));
    expect(got).toEqual(want);
  });
});
