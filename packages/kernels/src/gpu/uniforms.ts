import { require } from './errors.js';

export type ScalarType = 'u32' | 'i32' | 'f32';
export type UniformSpec = Record<string, ScalarType>;

/** Uniform slots are bound at 256-byte offsets, the strictest `minUniformBufferOffsetAlignment`. */
export const UNIFORM_SLOT_BYTES = 256;

/**
 * One description of a kernel's uniforms that both generates the WGSL struct and fills the
 * buffer, so the two cannot drift. Every field is a 4-byte scalar, so the layout is simply
 * declaration order.
 */
export class UniformLayout<S extends UniformSpec> {
  readonly names: (keyof S & string)[];
  readonly byteSize: number;
  private readonly indexOf: Map<string, number>;

  constructor(readonly spec: S) {
    this.names = Object.keys(spec) as (keyof S & string)[];
    require(this.names.length * 4 <= UNIFORM_SLOT_BYTES, 'Too many uniforms for one slot');
    this.byteSize = Math.max(16, Math.ceil((this.names.length * 4) / 16) * 16);
    this.indexOf = new Map(this.names.map((n, i) => [n, i]));
  }

  wgsl(structName = 'Params'): string {
    const fields = this.names.map((n) => `  ${n}: ${this.spec[n]},`).join('\n');
    return `struct ${structName} {\n${fields}\n}\n`;
  }

  index(name: keyof S & string): number {
    return this.indexOf.get(name)!;
  }
}

/** A kernel's uniform values: a view over one 256-byte slot of a {@link UniformArena}. */
export class UniformBlock<S extends UniformSpec> {
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;

  constructor(
    readonly layout: UniformLayout<S>,
    buffer: ArrayBuffer,
    readonly offset: number,
  ) {
    this.u32 = new Uint32Array(buffer, offset, UNIFORM_SLOT_BYTES / 4);
    this.i32 = new Int32Array(buffer, offset, UNIFORM_SLOT_BYTES / 4);
    this.f32 = new Float32Array(buffer, offset, UNIFORM_SLOT_BYTES / 4);
  }

  set(name: keyof S & string, value: number): this {
    const i = this.layout.index(name);
    const t = this.layout.spec[name];
    if (t === 'f32') this.f32[i] = value;
    else if (t === 'i32') this.i32[i] = value;
    else this.u32[i] = value;
    return this;
  }

  setAll(values: { [K in keyof S]?: number }): this {
    for (const k of this.layout.names) if (values[k] !== undefined) this.set(k, values[k]!);
    return this;
  }
}

/**
 * All uniforms of a model's dispatches in one GPU buffer: each dispatch owns a fixed slot, the
 * CPU copy is patched in place per step and written with a single `writeBuffer`, so a decode
 * step allocates nothing and issues one upload for all its uniforms.
 */
export class UniformArena {
  readonly buffer: GPUBuffer;
  private readonly host: ArrayBuffer;
  private used = 0;
  private dirtyEnd = 0;

  constructor(
    private readonly device: GPUDevice,
    readonly slots: number,
  ) {
    this.host = new ArrayBuffer(slots * UNIFORM_SLOT_BYTES);
    this.buffer = device.createBuffer({
      label: 'edgelm uniforms',
      size: this.host.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  alloc<S extends UniformSpec>(layout: UniformLayout<S>): UniformBlock<S> {
    require(this.used < this.host.byteLength, 'Uniform arena is full', { slots: this.slots });
    const block = new UniformBlock(layout, this.host, this.used);
    this.used += UNIFORM_SLOT_BYTES;
    this.dirtyEnd = this.used;
    return block;
  }

  binding(block: { offset: number; layout: { byteSize: number } }): GPUBufferBinding {
    return { buffer: this.buffer, offset: block.offset, size: block.layout.byteSize };
  }

  /** Uploads every slot handed out so far (a few KiB: cheaper than tracking which changed). */
  flush(): void {
    if (this.dirtyEnd > 0) this.device.queue.writeBuffer(this.buffer, 0, this.host, 0, this.dirtyEnd);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
