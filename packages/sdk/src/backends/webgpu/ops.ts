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

export interface LinearPart {
  group: GPUBindGroup;
  u: UniformBlock<typeof linearUniforms.spec>;
  rows: number;
}

/**
 * A (possibly split) matrix product. Two pipelines share the bind groups: a matrix–vector one
 * for single-token steps and a tiled one when the step carries several tokens.
 */
export class LinearOp implements StepOp {
  constructor(
    private readonly decode: { program: CompiledProgram; v: LinearVariant },
    private readonly prefill: { program: CompiledProgram; v: LinearVariant },
    readonly parts: LinearPart[],
    /** The classifier runs over sequences (their last tokens), the rest over tokens. */
    private readonly over: 'T' | 'nSeq',
  ) {}

  setShape(s: StepShape): void {
    for (const p of this.parts) p.u.set('T', s[this.over]);
  }

  encode(pass: GPUComputePassEncoder, s: StepShape): number {
    const n = s[this.over];
    const k = n > 1 ? this.prefill : this.decode;
    pass.setPipeline(k.program.pipeline);
    for (const p of this.parts) {
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
