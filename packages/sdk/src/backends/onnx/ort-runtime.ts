import type * as Ort from 'onnxruntime-web';
import { EdgeLMError } from '../../errors.js';

/** The onnxruntime-web module, loaded on first use so pages that never run ONNX never fetch it. */
export type OrtModule = typeof Ort;

/** The execution providers this backend drives, in the order it tries them. */
export type OrtExecutionProvider = 'webgpu' | 'wasm';

/** Where onnxruntime-web's `.wasm`/`.mjs` files are: a folder URL ending in `/`, or each file. */
export type OrtWasmPaths = string | { wasm: string; mjs: string };

/** Options shared by everything that starts onnxruntime-web. */
export interface OrtRuntimeOptions {
  /**
   * Where the runtime's `.wasm`/`.mjs` files are served from. Default: where onnxruntime-web
   * finds them itself — beside its own module (`new URL('….wasm', import.meta.url)`), which
   * Vite, webpack and Rollup's URL plugins emit as assets — so nothing needs copying. Pass a
   * folder URL (ending in `/`) to serve them from elsewhere, e.g. a CDN you trust.
   *
   * @example
   * ```ts
   * await createEngine({ model: '/models/stories-onnx/', backend: 'onnx', onnx: { wasmPaths: '/ort/' } });
   * ```
   */
  wasmPaths?: OrtWasmPaths;
  /** wasm threads; default 1, or up to 4 when the page is cross-origin isolated (SharedArrayBuffer). */
  numThreads?: number;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

let loaded: Promise<OrtModule> | undefined;

/**
 * Loads onnxruntime-web and sets its environment once. The settings are global to the runtime,
 * so the first caller's options win; later callers asking for different ones get an error rather
 * than a silently different runtime.
 */
export function loadOrt(options: OrtRuntimeOptions = {}): Promise<OrtModule> {
  loaded ??= (async () => {
    let ort: OrtModule;
    try {
      ort = await import('onnxruntime-web');
    } catch (e) {
      throw new EdgeLMError('NO_BACKEND', 'onnxruntime-web could not be loaded', {}, e);
    }
    configure(ort, options);
    return ort;
  })();
  return loaded;
}

function configure(ort: OrtModule, options: OrtRuntimeOptions): void {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  // Threads need SharedArrayBuffer, which only cross-origin-isolated pages have; Node's build of
  // onnxruntime-web is single-threaded.
  ort.env.wasm.numThreads = options.numThreads ?? (isolated && !isNode ? Math.min(4, cores) : 1);
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  // Unset, the runtime resolves its files against its own module URL: bundlers rewrite that to
  // the emitted asset, and Node reads them from its package folder on disk.
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
}

/** True when this page can run onnxruntime-web's WebGPU execution provider. */
export function hasWebGpu(): boolean {
  return !isNode && typeof navigator !== 'undefined' && 'gpu' in navigator;
}
