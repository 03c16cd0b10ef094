import {
  type CompiledProgram,
  elementGrid,
  type LinearVariant,
  linearGrid,
  type linearUniforms,
  type UniformBlock,
  type UniformLayout,
  type UniformSpec,
} from '@edgelm/kernels';

/** What a step's dispatches depend on: tokens in the step, sequences, attention chunks. */
export interface StepShape {
  T: number;
  nSeq: number;
  nChunks: number;
}

/** One node of the decoder's dispatch list, encoded into the step's single compute pass. */
export interface StepOp {
  /** Patches this op's uniforms for the step (the arena uploads them all at once). */
  setShape(s: StepShape): void;
  /** Encodes its dispatches; returns how many. */
  encode(pass: GPUComputePassEncoder, s: StepShape): number;
}

/** A compiled linear kernel and the variant it was built from (its grid depends on it). */
export interface LinearKernel {
  program: CompiledProgram;
  v: LinearVariant;
}

/** One part of a matrix: its own weight type's kernels, bind group and uniforms. */
export interface LinearPart {
  group: GPUBindGroup;
  u: UniformBlock<typeof linearUniforms.spec>;
  rows: number;
  decode: LinearKernel;
  prefill: LinearKernel;
}

/**
 * A (possibly split, possibly mixed-type) matrix product. Each part has two pipelines sharing
 * its bind group: a matrix–vector one for single-token steps and a tiled one when the step
 * carries several tokens; parts of different weight types dequantize with different kernels.
 */
export class LinearOp implements StepOp {
  constructor(
    readonly parts: LinearPart[],
    /** The classifier runs over sequences (their last tokens), the rest over tokens. */
    private readonly over: 'T' | 'nSeq',
  ) {}

  setShape(s: StepShape): void {
    for (const p of this.parts) p.u.set('T', s[this.over]);
  }

  encode(pass: GPUComputePassEncoder, s: StepShape): number {
    const n = s[this.over];
    let last: CompiledProgram | null = null;
    for (const p of this.parts) {
      const k = n > 1 ? p.prefill : p.decode;
      if (k.program !== last) pass.setPipeline(k.program.pipeline);
      last = k.program;
      const [gx, gy] = linearGrid(k.v, p.rows, n);
      pass.setBindGroup(0, p.group);
      pass.dispatchWorkgroups(gx, gy);
    }
    return this.parts.length;
  }
}

/** How an element-wise or per-token op sizes its grid. */
export type GridFn = (s: StepShape) => readonly [number, number, number];

/** A single-pipeline op whose uniforms take the step shape through `patch`. */
export class SimpleOp<S extends UniformSpec> implements StepOp {
  constructor(
    private readonly program: CompiledProgram,
    private readonly groups: GPUBindGroup[],
    private readonly blocks: UniformBlock<S>[],
    private readonly patch: (u: UniformBlock<S>, s: StepShape) => void,
    private readonly grid: GridFn,
    private readonly when: (s: StepShape) => boolean = () => true,
  ) {}

  setShape(s: StepShape): void {
    for (const u of this.blocks) this.patch(u, s);
  }

  encode(pass: GPUComputePassEncoder, s: StepShape): number {
    if (!this.when(s)) return 0;
    const [x, y, z] = this.grid(s);
    pass.setPipeline(this.program.pipeline);
    for (const g of this.groups) {
      pass.setBindGroup(0, g);
      pass.dispatchWorkgroups(x, y, z);
    }
    return this.groups.length;
  }
}

/** One workgroup per bind group, each with its own pipeline (the fused layers of a mixed file). */
export class PipelineListOp<S extends UniformSpec> implements StepOp {
  constructor(
    private readonly programs: CompiledProgram[],
    private readonly groups: GPUBindGroup[],
    private readonly blocks: UniformBlock<S>[],
    private readonly patch: (u: UniformBlock<S>, s: StepShape) => void,
  ) {}

  setShape(s: StepShape): void {
    for (const u of this.blocks) this.patch(u, s);
  }

  encode(pass: GPUComputePassEncoder): number {
    let last: CompiledProgram | null = null;
    for (let i = 0; i < this.groups.length; i++) {
      const p = this.programs[i]!;
      if (p !== last) pass.setPipeline(p.pipeline);
      last = p;
      pass.setBindGroup(0, this.groups[i]!);
      pass.dispatchWorkgroups(1, 1, 1);
    }
    return this.groups.length;
  }
}

/** Several ops run as one (the classifier and its soft-cap). */
export class Sequence implements StepOp {
  constructor(private readonly ops: StepOp[]) {}

  setShape(s: StepShape): void {
    for (const o of this.ops) o.setShape(s);
  }

  encode(pass: GPUComputePassEncoder, s: StepShape): number {
    let n = 0;
    for (const o of this.ops) n += o.encode(pass, s);
    return n;
  }
}

/** Grid of `threads` invocations in workgroups of `wg`, as a 3-tuple. */
export function threadsGrid(threads: number, wg: number): readonly [number, number, number] {
  const [x, y] = elementGrid(threads, wg);
  return [x, y, 1];
}

export type AnyLayout = UniformLayout<UniformSpec>;
