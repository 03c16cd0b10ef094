// The head-to-head page: edgelm, plain onnxruntime-web and wllama rows (transformers.js has its
// own page, bundled from the on-demand install). The driver opens a fresh page per row, since
// onnxruntime-web's and wllama's settings (threads, wasm paths) are global to a page.
import { EdgeLMError } from '../../../src/errors.js';
import { runEdgelm } from './edgelm.js';
import { runOrtPlain } from './ort-plain.js';
import { runWllama } from './wllama.js';

window.h2hRun = async (spec) => {
  switch (spec.engine) {
    case 'edgelm-webgpu':
    case 'edgelm-cpu':
    case 'edgelm-onnx-webgpu':
    case 'edgelm-onnx-wasm':
      return runEdgelm(spec);
    case 'ort-webgpu':
    case 'ort-wasm':
      return runOrtPlain(spec);
    case 'wllama':
    case 'wllama-stream':
      return runWllama(spec);
    default:
      throw new EdgeLMError('INVALID_ARGUMENT', `This page does not run ${spec.engine}`);
  }
};
