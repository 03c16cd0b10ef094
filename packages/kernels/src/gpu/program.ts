import type { BindingSpec } from './bindings.js';

export type VariantValue = string | number | boolean;
export type Variant = Record<string, VariantValue>;

/** Generated shader text and the bindings it declares (in binding-number order). */
export interface ProgramSource {
  wgsl: string;
  bindings: BindingSpec[];
  /** Workgroup size the shader was generated with, for callers computing grids. */
  workgroupSize: number;
}

/**
 * What a kernel needs compiled: its op name, the values its shader text depends on (types,
 * workgroup shape, feature flags — never tensor shapes, which travel as uniforms), and the
 * generator, called only when the pipeline cache misses.
 */
export interface ProgramSpec<V extends Variant = Variant> {
  op: string;
  variant: V;
  build(variant: V): ProgramSource;
}

/** The one place pipeline keys are made. */
export function programKey(spec: ProgramSpec): string {
  const parts = Object.keys(spec.variant)
    .sort()
    .map((k) => `${k}=${String(spec.variant[k])}`);
  return `${spec.op}[${parts.join(',')}]`;
}
