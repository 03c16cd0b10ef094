import { createEngine, type Engine } from '@edgelm/sdk';
import type { ServerConfig } from './config.js';
import { fileSource } from './file-source.js';

/**
 * Dawn (the `webgpu` package) gives Node a WebGPU device; without an adapter the engine's
 * 'auto' falls back to its CPU backend.
 */
async function dawnDevice(): Promise<GPUDevice | undefined> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const adapter = await create([]).requestAdapter();
  return adapter ? adapter.requestDevice() : undefined;
}

/** Loads the configured model in this process (no worker: the server is the worker). */
export async function loadEngine(config: ServerConfig): Promise<{ engine: Engine; modelName: string }> {
  const model = await fileSource(config.modelPath);
  const tokenizer = config.tokenizerPath ? await fileSource(config.tokenizerPath) : undefined;
  const device = config.backend === 'cpu' ? undefined : await dawnDevice();
  try {
    const engine = await createEngine({
      model,
      tokenizer,
      worker: false,
      backend: device ? 'webgpu' : config.backend === 'webgpu' ? 'webgpu' : 'cpu',
      device,
      maxBatch: config.maxBatch,
      modelName: config.modelName,
      // Caching is the server's job (Redis, shared by replicas), so that one place counts hits.
      responseCache: false,
    });
    return { engine, modelName: (await engine.info()).model.name };
  } finally {
    // Weights are uploaded or copied by now; the file handles are no longer read.
    await model.close();
    await tokenizer?.close();
  }
}
