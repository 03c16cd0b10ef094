// @edgelm/sdk/synth — synthetic models of real shapes, for benchmarks in Node and the browser.

export { SHAPES, type ShapeName } from './shapes.js';
export { syntheticModel } from './synthetic-model.js';
