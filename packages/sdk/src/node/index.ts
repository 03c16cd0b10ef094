// @edgelm/sdk/node — Node-only helpers: files on disk, synthetic models for benchmarks.

export { type ConvertType, convertToGguf } from '../formats/convert.js';
export { SHAPES, type ShapeName } from '../synth/shapes.js';
export { syntheticModel } from '../synth/synthetic-model.js';
export { fileSink, fileSource } from './file-source.js';
