import { require } from './errors.js';
import type { CompiledProgram } from './pipeline-cache.js';

export type BufferResource = GPUBuffer | GPUBufferBinding;

/** A bind group made once for a program and the buffers its bindings name. */
export function bindGroup(
  device: GPUDevice,
  program: CompiledProgram,
  resources: Record<string, BufferResource>,
): GPUBindGroup {
  return device.createBindGroup({
    label: program.key,
    layout: program.layout,
    entries: program.source.bindings.map((b, i) => {
      const r = resources[b.name];
      require(r !== undefined, `No buffer for binding "${b.name}" of ${program.key}`);
      return { binding: i, resource: r instanceof GPUBuffer ? { buffer: r } : r };
    }),
  });
}

/** One prepared dispatch: a pipeline and its bind group, encoded into any compute pass. */
export class Dispatch {
  constructor(
    readonly program: CompiledProgram,
    readonly group: GPUBindGroup,
  ) {}

  encode(pass: GPUComputePassEncoder, x: number, y = 1, z = 1): void {
    if (x === 0 || y === 0 || z === 0) return;
    pass.setPipeline(this.program.pipeline);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(x, y, z);
  }
}
