import { bindGroupLayoutFor } from './bindings.js';
import { KernelError } from './errors.js';
import { type ProgramSource, type ProgramSpec, programKey, type Variant } from './program.js';

/** A compiled kernel: its pipeline, the explicit layout its bind groups are made against. */
export interface CompiledProgram {
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  source: ProgramSource;
}

/**
 * Compiled pipelines by {@link programKey}, least recently used evicted past `capacity`, so a
 * long-lived page that loads many models does not keep every variant ever built.
 */
export class PipelineCache {
  private readonly entries = new Map<string, CompiledProgram | Promise<CompiledProgram>>();
  /** Pipelines compiled so far (cache misses), for progress reporting. */
  compiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly capacity = 256,
    private readonly onCompile?: (key: string, compiled: number) => void,
  ) {}

  /** Compiles (once) and returns the program; load-time code awaits this so steps never compile. */
  async prepare<V extends Variant>(spec: ProgramSpec<V>): Promise<CompiledProgram> {
    const key = programKey(spec as ProgramSpec);
    const hit = this.touch(key);
    if (hit) return hit;
    const pending = this.compile(key, spec);
    this.entries.set(key, pending);
    try {
      const done = await pending;
      this.entries.set(key, done);
      this.evict();
      return done;
    } catch (e) {
      this.entries.delete(key);
      throw e;
    }
  }

  /** The already prepared program; throws when it was not prepared (a hot path must not compile). */
  get<V extends Variant>(spec: ProgramSpec<V>): CompiledProgram {
    const key = programKey(spec as ProgramSpec);
    const hit = this.entries.get(key);
    if (!hit || hit instanceof Promise) {
      throw new KernelError('INVALID_ARGUMENT', `Pipeline ${key} was not prepared`, { key });
    }
    this.touch(key);
    return hit;
  }

  get size(): number {
    return this.entries.size;
  }

  private touch(key: string): CompiledProgram | Promise<CompiledProgram> | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  private async compile<V extends Variant>(key: string, spec: ProgramSpec<V>): Promise<CompiledProgram> {
    const source = spec.build(spec.variant);
    const device = this.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: key, code: source.wgsl });
    const layout = bindGroupLayoutFor(device, source.bindings);
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({
        label: key,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
    } catch (e) {
      await device.popErrorScope();
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
      throw new KernelError('GPU_ERROR', `Pipeline ${key} failed to compile: ${msgs || String(e)}`, { key });
    }
    const err = await device.popErrorScope();
    if (err) throw new KernelError('GPU_ERROR', `Pipeline ${key}: ${err.message}`, { key });
    this.compiled++;
    this.onCompile?.(key, this.compiled);
    return { key, pipeline, layout, source };
  }

  private evict(): void {
    for (const [key, v] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      if (!(v instanceof Promise)) this.entries.delete(key);
    }
  }
}
