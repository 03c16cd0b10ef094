/// <reference types="@webgpu/types" preserve="true" />
// @edgelm/sdk/engine — the engine without the worker: for Node, for code already in a worker,
// or for an app that brings its own backend. Most apps want `createEngine` from the root.

export { createLocalEngine, type LocalEngineCreateOptions } from './create-local-engine.js';
export type { ResolveOptions } from './load/model-input.js';
export type { KvOptions } from './load/select-backend.js';
export { LocalEngine, type LocalEngineOptions } from './local-engine.js';
export { RemoteEngine } from './remote-engine.js';
