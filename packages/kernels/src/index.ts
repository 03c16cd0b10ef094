/// <reference types="@webgpu/types" preserve="true" />
/**
 * @edgelm/kernels — WGSL kernels for llama-family decoders, each op beside its dispatch shape
 * and CPU reference, over a small typed shader-building layer.
 *
 * @example
 * ```ts
 * const cache = new PipelineCache(device);
 * const v = { wtype: 'q8_0', ...profile.matvec, tt: 1, norm: true, epi: 'store', gather: false, subgroups: false, act: 'f32' } as const;
 * const program = await cache.prepare(linearProgram(v)); // compiled once, at load
 * const d = new Dispatch(program, bindGroup(device, program, { W, X, Y, G, P: arena.binding(uniforms) }));
 * d.encode(pass, ...linearGrid(v, rows, tokens));
 * ```
 */
export { type BindingSpec, bindGroupLayoutFor, bindingsWgsl } from './gpu/bindings.js';
export { type BufferResource, bindGroup, Dispatch } from './gpu/dispatch.js';
export { KernelError, type KernelErrorCode } from './gpu/errors.js';
export { type CompiledProgram, PipelineCache } from './gpu/pipeline-cache.js';
export {
  type AdapterDescription,
  DP4A_FEATURE,
  isCpuAdapter,
  type KernelProfile,
  kernelProfile,
} from './gpu/profile.js';
export { type ProgramSource, type ProgramSpec, programKey, type Variant } from './gpu/program.js';
export {
  UNIFORM_SLOT_BYTES,
  UniformArena,
  UniformBlock,
  UniformLayout,
  type UniformSpec,
} from './gpu/uniforms.js';
export { addProgram, addRef, addUniforms, elementGrid } from './ops/add.js';
export { argmaxProgram, argmaxRef, argmaxUniforms } from './ops/argmax.js';
export {
  type AttentionVariant,
  attentionChunk,
  attentionF16Ref,
  attentionMergeProgram,
  attentionMergeUniforms,
  attentionProgram,
  attentionRef,
  attentionUniforms,
} from './ops/attention.js';
export { type BiasAddVariant, biasAddProgram, biasAddUniforms } from './ops/bias-add.js';
export { decodeAdvanceProgram, decodeAdvanceUniforms } from './ops/decode-advance.js';
export {
  type DecoderLayerPack,
  type DecoderLayerPart,
  type DecoderLayerVariant,
  decoderLayerActivations,
  decoderLayerPack,
  decoderLayerProgram,
  decoderLayerSplitStride,
  decoderLayerUniforms,
  decoderLayerWorkgroupBytes,
  decoderLayerWorkgroups,
  type PackedMatrix,
} from './ops/decoder-layer.js';
export { type EmbeddingVariant, embeddingProgram, embeddingUniforms } from './ops/embedding.js';
export {
  type AttentionFeatures,
  attentionStepRef,
  type FlashPrefillVariant,
  flashPrefillBytes,
  flashPrefillGrid,
  flashPrefillProgram,
  flashPrefillUniforms,
  flashPrefillVariant,
  type StepToken,
} from './ops/flash-prefill.js';
export {
  argmaxMergeProgram,
  argmaxMergeUniforms,
  type HeadArgmaxVariant,
  headArgmaxProgram,
  headArgmaxUniforms,
} from './ops/head-argmax.js';
export {
  type HeadRmsnormVariant,
  headRmsnormGrid,
  headRmsnormProgram,
  headRmsnormRef,
  headRmsnormUniforms,
} from './ops/head-rmsnorm.js';
export { type LinearVariant, linearGrid, linearProgram, linearRef, linearUniforms } from './ops/linear.js';
export { type NormAddVariant, normAddProgram, normAddUniforms } from './ops/norm-add.js';
export {
  dequantQ8Row,
  packQ8Row,
  type Q8Row,
  type QuantizeActVariant,
  q8RowWords,
  quantizeActGrid,
  quantizeActProgram,
  quantizeActRef,
  quantizeActUniforms,
} from './ops/quantize-act.js';
export { rmsnormProgram, rmsnormRef, rmsnormUniforms } from './ops/rmsnorm.js';
export { hash32, rngWgsl, uniform } from './ops/rng.js';
export {
  type KvPrecision,
  kvCacheOffset,
  type RopeKvVariant,
  ropeKvProgram,
  ropeKvThreads,
  ropeKvUniforms,
  ropeRef,
  ropeTable,
} from './ops/rope-kv.js';
export { type SampleVariant, sampleProgram, sampleUniforms } from './ops/sample.js';
export { type SampleRefParams, sampleRef } from './ops/sample-ref.js';
export {
  SAMPLE_STATE_WORDS,
  SampleField,
  type SampleState,
  sampleStateWgsl,
  writeSampleState,
} from './ops/sample-state.js';
export { type ScaleVariant, scaleProgram, scaleUniforms } from './ops/scale.js';
export { swigluProgram, swigluRef, swigluUniforms } from './ops/swiglu.js';
export { f16ToF32, f32ToF16 } from './quant/f16.js';
export {
  dequantMatrix,
  dequantRow,
  ggufRowBytes,
  packWeights,
  type RepackedRows,
  repackRows,
  type StackSegment,
  stackSegments,
  unpackRows,
  type WeightLayout,
  weightLayout,
} from './quant/layout.js';
export { randomBlocks } from './quant/random.js';
export { dequantGguf } from './quant/reference.js';
export {
  GGML_WEIGHT_TYPE,
  isFloatType,
  isQuantized,
  q8Block,
  type TypeInfo,
  WEIGHT_TYPES,
  type WeightType,
} from './quant/types.js';
