// edgelm's own WebGPU backend, in the same browser and on the same adapter as the other rows.
// A separate entry so the rest of the comparison builds while that backend is being written.
// Decode runs through the engine as an application runs it: its scheduler decodes several
// tokens per submission (Backend.decode) unless the row asks for one token per step.
import type { Backend } from '../../../src/backends/backend.js';
import { createWebGpuBackend } from '../../../src/backends/webgpu/index.js';
import { LocalEngine } from '../../../src/engine/local-engine.js';
import { EdgeLMError } from '../../../src/errors.js';
import { bytesSource } from '../../../src/formats/byte-source.js';
import { openGguf } from '../../../src/formats/gguf/model.js';
import { type CompareResult, fetchBytes, measureBackend, promptTokens } from '../measure.js';

/** The backend seen without `decode`, so the scheduler runs (and reads back) one token per step. */
function oneTokenPerStep(b: Backend): Backend {
  return {
    name: b.name,
    config: b.config,
    pageSize: b.pageSize,
    pageCount: b.pageCount,
    pageBytes: b.pageBytes,
    forward: (s) => b.forward(s),
    forwardSample: (s, p) => b.forwardSample!(s, p),
    dispose: () => b.dispose(),
  };
}

window.compareRun = async (spec) => {
  if (spec.engine !== 'edgelm-webgpu') throw new EdgeLMError('INVALID_ARGUMENT', `Not ${spec.engine}`);
  const model = await openGguf(bytesSource(await fetchBytes(`/harness/data/${spec.model}.gguf`)));
  const backend = await createWebGpuBackend(model, {
    pageSize: 16,
    pageCount: 4 * Math.ceil((spec.prompt + spec.decode) / 16),
    ...(spec.floatArithmetic ? { kvCache: 'f32', activations: 'f32' } : {}),
  });
  if (spec.rawForward) {
    // The backend alone, one forward (and a logits read-back) per token: the figure before the
    // engine decoded on the device.
    const raw = await measureBackend(backend, spec);
    raw.notes = `forward() loop: dispatches=${backend.stats.dispatches} submits=${backend.stats.submits}`;
    backend.dispose();
    return raw;
  }
  const engine = new LocalEngine(model, spec.singleStep ? oneTokenPerStep(backend) : backend, {
    responseCache: false,
  });
  const res: CompareResult = { prefill: [], decode: [], ttftMs: [], notes: '' };
  const base = promptTokens(spec.prompt, model.config.vocabSize);
  // One warm-up run compiles pipelines; it is not counted.
  for (let run = -1; run < spec.runs; run++) {
    // A different first token each run: no run reuses another's prompt through the prefix cache.
    const prompt = [3 + ((run + 1) % 50), ...base.slice(1)];
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    const s = engine.generate(prompt, {
      maxTokens: spec.decode,
      temperature: spec.temperature ?? 0,
      seed: 1234 + run,
    });
    for await (const c of s) {
      if (c.token < 0) continue;
      if (n++ === 0) first = performance.now();
    }
    const end = performance.now();
    if (run < 0) continue;
    res.ttftMs.push(first - t0);
    res.prefill.push((spec.prompt * 1000) / (first - t0));
    res.decode.push(((n - 1) * 1000) / (end - first));
  }
  // Stats are those of the last backend call.
  res.notes = `last call: dispatches=${backend.stats.dispatches} submits=${backend.stats.submits}`;
  await engine.unload();
  return res;
};
