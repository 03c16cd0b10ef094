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
  // Backend calls and the steps they asked for, per run: a sampled run may stop early at EOS, and
  // the scheduler sizes its calls by measured time.
  let calls = 0;
  let steps = 0;
  const counted: Backend = spec.singleStep ? oneTokenPerStep(backend) : backend;
  const decode = counted.decode?.bind(counted);
  if (decode) {
    counted.decode = (s, p, n) => {
      calls++;
      steps += n;
      return decode(s, p, n);
    };
  }
  const engine = new LocalEngine(model, counted, {
    responseCache: false,
  });
  const res: CompareResult = { prefill: [], decode: [], ttftMs: [], notes: '' };
  const base = promptTokens(spec.prompt, model.config.vocabSize);
  let prompts = 0;
  const timed = async (temperature: number, seed: number) => {
    // A different first token each run: no run reuses another's prompt through the prefix cache.
    const prompt = [3 + (prompts++ % 50), ...base.slice(1)];
    calls = 0;
    steps = 0;
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    for await (const c of engine.generate(prompt, { maxTokens: spec.decode, temperature, seed })) {
      if (c.token < 0) continue;
      if (n++ === 0) first = performance.now();
    }
    const end = performance.now();
    return { ttft: first - t0, decode: ((n - 1) * 1000) / (end - first), shape: `${n}t/${calls}c/${steps}s` };
  };
  const temperature = spec.temperature ?? 0;
  const shapes: string[] = [];
  // One warm-up run compiles pipelines; it is not counted.
  for (let run = -1; run < spec.runs; run++) {
    // A sampled row times a greedy run on the same engine right before each of its own: this
    // machine's speed drifts by tens of percent within a minute, so only pairs compare.
    const greedy = temperature > 0 ? await timed(0, 0) : null;
    const r = await timed(temperature, 1234 + run);
    if (run < 0) continue;
    shapes.push(r.shape);
    res.ttftMs.push(r.ttft);
    res.prefill.push((spec.prompt * 1000) / r.ttft);
    res.decode.push(r.decode);
    if (greedy) {
      res.pairedGreedyDecode ??= [];
      res.pairedGreedyDecode.push(greedy.decode);
    }
  }
  res.notes = `runs (tokens/decode calls/steps) ${shapes.join(' ')}`;
  await engine.unload();
  return res;
};
