import type { BufferResource, KernelProfile } from '@edgelm/kernels';
import type { LoadProgress } from '../../api/types.js';
import { TensorName as T } from '../../model/config.js';
import { layerRope } from '../../model/features.js';
import type { ModelFile } from '../../model/model-file.js';
import { readF32 } from '../../reference/weights.js';
import { ropeFactorsOf, ropeTableOf } from './arch-buffers.js';
import type { FusedDesign } from './fused-plan.js';
import type { DecoderBuffers } from './plan.js';
import { destroyMatrix, matrixBytes, uploadMatrix, uploadVector } from './weights.js';

/** Sizes the activation buffers are made for. */
export interface Capacity {
  maxTokens: number;
  maxSeqs: number;
  maxPages: number;
  pageSize: number;
  pageCount: number;
  maxChunks: number;
  /** Bytes one GPU buffer (and binding) may hold: the device's limits, or a lower forced one. */
  bufferLimit: number;
}

/**
 * Uploads the weights tensor by tensor (q/k/v and gate/up stacked into one matrix each) and
 * allocates the KV pages and activations. Norm weights go through the reference reader, which
 * dequantizes whatever type they are stored in.
 */
export async function loadBuffers(
  device: GPUDevice,
  model: ModelFile,
  cap: Capacity,
  onProgress?: (p: LoadProgress) => void,
  fused: FusedDesign | null = null,
): Promise<DecoderBuffers> {
  const c = model.config;
  const hd = c.headDim;
  const totalTensors = model.tensors.length;
  let tensors = 0;
  let bytes = 0;
  const tick = (n: number) => {
    tensors++;
    bytes += n;
    onProgress?.({ phase: 'upload', tensors, totalTensors, bytes });
  };
  const vec = async (name: string) => {
    const v = await readF32(model, name, c.dim);
    tick(v.byteLength);
    return uploadVector(device, v, name);
  };
  const created: GPUBuffer[] = [];
  const buf = (label: string, size: number, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST) => {
    const b = device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 4) * 4), usage });
    created.push(b);
    return b;
  };
  const kvBytes = cap.pageCount * cap.pageSize * c.nKvHeads * hd * 4;
  const embedding = await uploadMatrix(device, model, [T.tokenEmbd], {
    label: T.tokenEmbd,
    onTensor: tick,
    limit: cap.bufferLimit,
  });
  const layers: DecoderBuffers['layers'] = [];
  for (let l = 0; l < c.nLayers; l++) {
    // With the fused kernels, a layer's matrices and norms share one buffer (the kernel binds
    // it once); the general kernels bind byte ranges of it, so nothing is uploaded twice.
    const layout = fused?.packs[l];
    const pack = layout ? buf(`blk.${l}.pack`, layout.words * 4) : null;
    const at = (...words: number[]) =>
      pack ? { buffer: pack, offsets: words.map((w) => w * 4) } : undefined;
    const limit = cap.bufferLimit;
    const norm = async (name: string, words: number | undefined): Promise<BufferResource> => {
      if (!pack || words === undefined) return vec(name);
      const v = await readF32(model, name, c.dim);
      tick(v.byteLength);
      device.queue.writeBuffer(pack, words * 4, new Float32Array(v));
      return { buffer: pack, offset: words * 4, size: c.dim * 4 };
    };
    layers.push({
      pack,
      attnNorm: await norm(T.attnNorm(l), layout?.attnNorm),
      qkv: await uploadMatrix(device, model, [T.attnQ(l), T.attnK(l), T.attnV(l)], {
        label: `blk.${l}.qkv`,
        onTensor: tick,
        limit,
        into: layout && at(...layout.qkv.map((m) => m.base)),
      }),
      wo: await uploadMatrix(device, model, [T.attnOutput(l)], {
        label: T.attnOutput(l),
        onTensor: tick,
        limit,
        into: layout && at(layout.wo.base),
      }),
      ffnNorm: await norm(T.ffnNorm(l), layout?.ffnNorm),
      gateUp: await uploadMatrix(device, model, [T.ffnGate(l), T.ffnUp(l)], {
        paired: true,
        label: `blk.${l}.gate_up`,
        onTensor: tick,
        limit,
        into: layout && at(layout.gateUp.base),
      }),
      down: await uploadMatrix(device, model, [T.ffnDown(l)], {
        label: T.ffnDown(l),
        onTensor: tick,
        limit,
        into: layout && at(layout.down.base),
      }),
      k: buf(`blk.${l}.k_pages`, kvBytes),
      v: buf(`blk.${l}.v_pages`, kvBytes),
    });
  }
  const outputNorm = await vec(T.outputNorm);
  const classifier = c.tiedEmbeddings
    ? embedding
    : await uploadMatrix(device, model, [T.output], {
        label: T.output,
        onTensor: tick,
        limit: cap.bufferLimit,
      });
  const qkvStride = (c.nHeads + 2 * c.nKvHeads) * hd;
  const rope = buf('rope', c.contextLength * hd * 4);
  // Layer 0's RoPE (Llama 3's rope_freqs included); layers that differ get theirs in arch-buffers.ts.
  device.queue.writeBuffer(
    rope,
    0,
    ropeTableOf(layerRope(c, 0), hd, c.contextLength, await ropeFactorsOf(model)),
  );
  const out = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  return {
    embedding,
    classifier,
    outputNorm,
    layers,
    x: buf('x', Math.max(cap.maxTokens * c.dim, fused?.xFloats ?? 0) * 4),
    qkvOut: buf('qkv', cap.maxTokens * qkvStride * 4),
    attn: buf('attn', cap.maxTokens * c.nHeads * hd * 4),
    hidden: buf('hidden', cap.maxTokens * c.hiddenDim * 4),
    partials: buf('partials', cap.maxTokens * c.nHeads * cap.maxChunks * (hd + 2) * 4),
    logits: buf('logits', cap.maxSeqs * c.vocabSize * 4, out),
    meta: buf('meta', cap.maxTokens * 16),
    pages: buf('pages', cap.maxSeqs * cap.maxPages * 4),
    lastIndex: buf('last_index', cap.maxSeqs * 4),
    sampled: buf('sampled', cap.maxSeqs * 4, out),
    best: buf('best', cap.maxSeqs * (fused?.nWg ?? 1) * 8),
    rope,
  };
}

/**
 * GPU bytes of the weight matrices (a layer's pack counted once, norms included): what the
 * benchmarks set against the file size, since blocks are kept at their GGUF size.
 */
export function weightBytes(b: DecoderBuffers): number {
  let n = matrixBytes(b.embedding) + (b.classifier === b.embedding ? 0 : matrixBytes(b.classifier));
  for (const L of b.layers) {
    n += L.pack ? L.pack.size : [L.qkv, L.wo, L.gateUp, L.down].reduce((s, m) => s + matrixBytes(m), 0);
  }
  return n;
}

export function destroyBuffers(b: DecoderBuffers): void {
  const seen = new Set<GPUBuffer>();
  const kill = (x: GPUBuffer) => {
    if (!seen.has(x)) {
      seen.add(x);
      x.destroy();
    }
  };
  destroyMatrix(b.embedding);
  if (b.classifier !== b.embedding) destroyMatrix(b.classifier);
  for (const L of b.layers) {
    for (const m of [L.qkv, L.wo, L.gateUp, L.down]) destroyMatrix(m);
    for (const x of [L.attnNorm, L.ffnNorm]) if (x instanceof GPUBuffer) kill(x);
    for (const x of [L.k, L.v, L.pack]) if (x) kill(x);
  }
  for (const x of [b.outputNorm, b.x, b.qkvOut, b.attn, b.hidden, b.partials, b.logits, b.meta, b.pages])
    kill(x);
  for (const x of [b.lastIndex, b.sampled, b.best, b.rope, ...(b.xq?.values() ?? [])]) kill(x);
}

/** A profile override for tests and benchmarks that compare kernel shapes. */
export type ProfileOverride = Partial<
  Pick<
    KernelProfile,
    'matvec' | 'matmul' | 'attnChunk' | 'attnWg' | 'flashPrefill' | 'subgroups' | 'dp4a' | 'fused' | 'cpuLike'
  >
>;
