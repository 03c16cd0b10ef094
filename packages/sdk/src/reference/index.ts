// @edgelm/sdk/reference — the plain CPU forward pass every backend is judged against.

export { ReferenceModel } from './forward.js';
