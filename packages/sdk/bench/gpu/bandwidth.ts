// Device memory bandwidth, measured on the adapter in the same run (WebGPU reports none): a
// read kernel that sums every 16-byte word of a large buffer once (coalesced, grid-stride), and
// a buffer-to-buffer copy. The read kernel's sum is checked against the CPU's, so the bytes it is
// credited with are bytes it really read.

export const READ_WG = 256;

/** The WGSL of the read kernel: each invocation sums its grid-stride share of `data`. */
export const READ_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> data: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${READ_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * ${READ_WG}u;
  let n = arrayLength(&data);
  var acc = vec4<u32>(0u);
  for (var i = gid.x; i < n; i += stride) { acc += data[i]; }
  out[gid.x] = acc.x + acc.y + acc.z + acc.w;
}`;

/** Bytes one dispatch of the read kernel moves: all of `bufferBytes` read, one u32 written per invocation. */
export function readKernelBytes(bufferBytes: number, workgroups: number): { read: number; written: number } {
  if (bufferBytes % 16 !== 0) throw new RangeError('The read buffer holds whole 16-byte words');
  return { read: bufferBytes, written: workgroups * READ_WG * 4 };
}

/** The u32 sum (mod 2³²) of `words`: what the kernel's outputs must add up to. */
export function wordSum(words: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < words.length; i++) s = (s + words[i]!) >>> 0;
  return s;
}

export interface BandwidthResult {
  bufferBytes: number;
  workgroups: number;
  /** Best of the trials, bytes read per second by the kernel (GB/s, 1e9). */
  readGBps: number;
  /** Buffer-to-buffer copy, bytes read + written per second (GB/s). */
  copyGBps: number;
  /** The kernel's sum matched the CPU's. */
  verified: boolean;
}

export interface BandwidthOptions {
  bufferBytes: number;
  workgroups: number;
  /** Wall time each trial aims for; the dispatch count per submit is grown to reach it. */
  targetMs?: number;
  trials?: number;
}

/** Fills a mapped buffer with a cheap deterministic pattern and returns its word sum. */
function fill(buffer: GPUBuffer): number {
  const words = new Uint32Array(buffer.getMappedRange());
  let s = 0x12345678;
  for (let i = 0; i < words.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    words[i] = s;
  }
  const sum = wordSum(words);
  buffer.unmap();
  return sum;
}

async function timeSubmit(device: GPUDevice, encode: (e: GPUCommandEncoder) => void): Promise<number> {
  const enc = device.createCommandEncoder();
  encode(enc);
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

/** Runs `encode` `reps` times per submit, growing reps until a submit takes `targetMs`; best rate of `trials`. */
async function bestRate(
  device: GPUDevice,
  bytesPerRep: number,
  encodeOne: (e: GPUCommandEncoder) => void,
  targetMs: number,
  trials: number,
): Promise<number> {
  const encodeN = (n: number) => (e: GPUCommandEncoder) => {
    for (let i = 0; i < n; i++) encodeOne(e);
  };
  await timeSubmit(device, encodeN(1)); // warm-up: pipeline and first touch
  let reps = 1;
  let ms = await timeSubmit(device, encodeN(reps));
  while (ms < targetMs && reps < 4096) {
    reps = Math.min(4096, Math.max(reps * 2, Math.ceil((reps * targetMs) / Math.max(ms, 0.01))));
    ms = await timeSubmit(device, encodeN(reps));
  }
  let best = (reps * bytesPerRep) / ms / 1e6;
  for (let t = 1; t < trials; t++) {
    best = Math.max(best, (reps * bytesPerRep) / (await timeSubmit(device, encodeN(reps))) / 1e6);
  }
  return best;
}

/** Measures read and copy bandwidth on `device`. */
export async function measureBandwidth(device: GPUDevice, o: BandwidthOptions): Promise<BandwidthResult> {
  const { bufferBytes, workgroups } = o;
  const targetMs = o.targetMs ?? 50;
  const trials = o.trials ?? 3;
  const S = GPUBufferUsage.STORAGE;
  const src = device.createBuffer({
    size: bufferBytes,
    usage: S | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  const expected = fill(src);
  const out = device.createBuffer({ size: workgroups * READ_WG * 4, usage: S | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({
    size: workgroups * READ_WG * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const dst = device.createBuffer({ size: bufferBytes, usage: GPUBufferUsage.COPY_DST });
  try {
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: READ_WGSL }), entryPoint: 'main' },
    });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: out } },
      ],
    });
    const dispatch = (e: GPUCommandEncoder) => {
      const p = e.beginComputePass();
      p.setPipeline(pipeline);
      p.setBindGroup(0, bind);
      p.dispatchWorkgroups(workgroups);
      p.end();
    };
    const { read } = readKernelBytes(bufferBytes, workgroups);
    const readGBps = await bestRate(device, read, dispatch, targetMs, trials);
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(out, 0, readback, 0, out.size);
    device.queue.submit([enc.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const verified = wordSum(new Uint32Array(readback.getMappedRange().slice(0))) === expected;
    readback.unmap();
    const copyGBps = await bestRate(
      device,
      2 * bufferBytes,
      (e) => e.copyBufferToBuffer(src, 0, dst, 0, bufferBytes),
      targetMs,
      trials,
    );
    return { bufferBytes, workgroups, readGBps, copyGBps, verified };
  } finally {
    for (const b of [src, out, readback, dst]) b.destroy();
  }
}

/** Buffer size and grid for an adapter: large against any cache on a GPU, small on a CPU emulation. */
export function bandwidthPlan(limits: GPUSupportedLimits, cpuLike: boolean): BandwidthOptions {
  const cap = cpuLike ? 32 << 20 : 512 << 20;
  const max = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, cap);
  const bufferBytes = Math.floor(max / 16) * 16;
  return {
    bufferBytes,
    workgroups: cpuLike ? 16 : Math.min(limits.maxComputeWorkgroupsPerDimension, 8192),
    targetMs: cpuLike ? 100 : 50,
    trials: 3,
  };
}
