import { EdgeLMError } from '../../errors.js';
import { TensorName as T } from '../../model/config.js';
import { type LayerRope, layerRope, ropeCosSin, ropeFrequencies, ropeKey } from '../../model/features.js';
import type { ModelFile } from '../../model/model-file.js';
import { readF32 } from '../../reference/weights.js';

/**
 * The device buffers of what an architecture adds to a llama layer (see model/features.ts):
 * per-layer RoPE tables, q/k/v biases, q/k norm weights, post norms, and the scratch row a
 * post-normed branch is written to before its residual add. Null where the model has none.
 */
export interface ArchBuffers {
  /** (layer) cos/sin table [contextLength, headDim / 2] vec2; layers with equal RoPE share one. */
  ropes: GPUBuffer[];
  /** (layer) [bq | bk | bv], qkvStride floats. */
  bias: (GPUBuffer | null)[];
  /** (layer) [q norm | k norm], 2 · headDim floats. */
  qkNorm: (GPUBuffer | null)[];
  postAttnNorm: (GPUBuffer | null)[];
  postFfnNorm: (GPUBuffer | null)[];
  /** (maxTokens, dim): a branch's output before its post-norm. */
  branch: GPUBuffer | null;
  owned: GPUBuffer[];
}

/**
 * A layer's RoPE as the rope-kv kernel's table: cos/sin (times attnFactor) per position and pair,
 * from the same frequencies the CPU backends use. Partial rotary leaves the trailing pairs at
 * cos 1, sin 0, which is exact for adjacent-pair RoPE; NeoX pairs of a partial rotation do not
 * line up with the kernel's (i, i + headDim/2), so those are refused.
 */
export function ropeTableOf(
  r: LayerRope,
  headDim: number,
  positions: number,
  factors: Float32Array | null,
): Float32Array<ArrayBuffer> {
  if (r.dims !== headDim && r.style === 'neox') {
    throw new EdgeLMError('UNSUPPORTED_TYPE', 'The WebGPU backend does not run partial NeoX rotary yet', {
      dims: r.dims,
      headDim,
    });
  }
  const half = headDim / 2;
  const freqs = ropeFrequencies(r, r.factors ? factors : null);
  const cs = new Float64Array(freqs.length * 2);
  const out = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++) {
    ropeCosSin(freqs, p, r.attnFactor, cs);
    for (let i = 0; i < half; i++) {
      const rotated = i < freqs.length;
      out[(p * half + i) * 2] = rotated ? cs[2 * i]! : 1;
      out[(p * half + i) * 2 + 1] = rotated ? cs[2 * i + 1]! : 0;
    }
  }
  return out;
}

/** The model's RoPE factor tensor (rope_freqs / rope_factors_*), or null. */
export async function ropeFactorsOf(model: ModelFile): Promise<Float32Array | null> {
  const f = model.config.features.rope;
  return f.factors ? readF32(model, f.factors, f.dims / 2) : null;
}

export async function loadArchBuffers(
  device: GPUDevice,
  model: ModelFile,
  maxTokens: number,
  /** Layer 0's table, already uploaded with the decoder buffers. */
  rope0: GPUBuffer,
): Promise<ArchBuffers> {
  const c = model.config;
  const f = c.features;
  const owned: GPUBuffer[] = [];
  const upload = (label: string, data: Float32Array) => {
    const b = device.createBuffer({
      label,
      size: Math.max(16, data.byteLength),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(b, 0, new Float32Array(data));
    owned.push(b);
    return b;
  };
  const factors = await ropeFactorsOf(model);
  const tables = new Map<string, GPUBuffer>([[ropeKey(layerRope(c, 0)), rope0]]);
  const ropes: GPUBuffer[] = [];
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const bias: (GPUBuffer | null)[] = [];
  const qkNorm: (GPUBuffer | null)[] = [];
  const postAttnNorm: (GPUBuffer | null)[] = [];
  const postFfnNorm: (GPUBuffer | null)[] = [];
  const cat = async (label: string, parts: [string, number][]) => {
    const out = new Float32Array(parts.reduce((s, [, n]) => s + n, 0));
    let at = 0;
    for (const [name, n] of parts) {
      out.set(await readF32(model, name, n), at);
      at += n;
    }
    return upload(label, out);
  };
  for (let l = 0; l < c.nLayers; l++) {
    const r = layerRope(c, l);
    let table = tables.get(ropeKey(r));
    if (!table) {
      table = upload(`rope.${l}`, ropeTableOf(r, c.headDim, c.contextLength, factors));
      tables.set(ropeKey(r), table);
    }
    ropes.push(table);
    bias.push(
      c.qkvBias
        ? await cat(`blk.${l}.qkv_bias`, [
            [T.attnQBias(l), q],
            [T.attnKBias(l), kv],
            [T.attnVBias(l), kv],
          ])
        : null,
    );
    qkNorm.push(
      f.qkNorm
        ? await cat(`blk.${l}.qk_norm`, [
            [T.attnQNorm(l), c.headDim],
            [T.attnKNorm(l), c.headDim],
          ])
        : null,
    );
    postAttnNorm.push(f.postNorms ? await cat(T.attnPostNorm(l), [[T.attnPostNorm(l), c.dim]]) : null);
    postFfnNorm.push(f.postNorms ? await cat(T.ffnPostNorm(l), [[T.ffnPostNorm(l), c.dim]]) : null);
  }
  let branch: GPUBuffer | null = null;
  if (f.postNorms) {
    branch = device.createBuffer({
      label: 'branch',
      size: maxTokens * c.dim * 4,
      usage: GPUBufferUsage.STORAGE,
    });
    owned.push(branch);
  }
  return { ropes, bias, qkNorm, postAttnNorm, postFfnNorm, branch, owned };
}

export function destroyArchBuffers(a: ArchBuffers): void {
  for (const b of a.owned) b.destroy();
}
