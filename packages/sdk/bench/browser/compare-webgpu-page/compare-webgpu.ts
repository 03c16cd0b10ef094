// edgelm's own WebGPU backend, in the same browser and on the same adapter as the other rows.
// A separate entry so the rest of the comparison builds while that backend is being written.
import { createWebGpuBackend } from '../../../src/backends/webgpu/index.js';
import { EdgeLMError } from '../../../src/errors.js';
import { bytesSource } from '../../../src/formats/byte-source.js';
import { openGguf } from '../../../src/formats/gguf/model.js';
import { fetchBytes, measureBackend } from '../measure.js';

window.compareRun = async (spec) => {
  if (spec.engine !== 'edgelm-webgpu') throw new EdgeLMError('INVALID_ARGUMENT', `Not ${spec.engine}`);
  const model = await openGguf(bytesSource(await fetchBytes(`/harness/data/${spec.model}.gguf`)));
  const backend = await createWebGpuBackend(model, {
    pageSize: 16,
    pageCount: 2 * Math.ceil((spec.prompt + spec.decode) / 16),
  });
  const res = await measureBackend(backend, spec);
  // Stats are those of the last step, a single-token decode.
  res.notes = `dispatches/token=${backend.stats.dispatches} submits/token=${backend.stats.submits}`;
  backend.dispose();
  return res;
};
