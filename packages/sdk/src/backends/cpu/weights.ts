import { EdgeLMError } from '../../errors.js';
import { TensorName as T } from '../../model/config.js';
import { layerFrequencies } from '../../model/features.js';
import type { ModelFile } from '../../model/model-file.js';
import { readF32 } from '../../reference/weights.js';
import { type CpuMatrix, loadMatrix } from './matrix.js';

/** One layer's tensors, M a matrix and V a vector as the backend keeps them. */
export interface CpuLayer<M, V> {
  rmsAtt: V; // (dim)
  wq: M; // (nHeads * headDim, dim)
  wk: M; // (nKvHeads * headDim, dim)
  wv: M; // (nKvHeads * headDim, dim)
  bq?: V; // (nHeads * headDim)
  bk?: V; // (nKvHeads * headDim)
  bv?: V; // (nKvHeads * headDim)
  qNorm?: V; // (headDim) qwen3, gemma3
  kNorm?: V; // (headDim)
  wo: M; // (dim, nHeads * headDim)
  postAttnNorm?: V; // (dim) gemma3
  rmsFfn: V; // (dim)
  postFfnNorm?: V; // (dim) gemma3
  w1: M; // (hiddenDim, dim) gate
  w2: M; // (dim, hiddenDim) down
  w3: M; // (hiddenDim, dim) up
}

export interface CpuWeights<M, V> {
  embedding: M; // (vocab, dim)
  layers: CpuLayer<M, V>[];
  rmsFinal: V; // (dim)
  wcls: M; // (vocab, dim), the embedding itself when tied
  /** Each layer's RoPE frequency per rotated pair (factors and per-layer bases applied). */
  ropeFreqs: Float64Array[];
}

/** Where each tensor goes once read (the JS backend keeps it; the wasm one copies it to its heap). */
export interface WeightPlacer<M, V> {
  matrix(m: CpuMatrix): M;
  vector(v: Float32Array): V;
}

/**
 * Reads every weight, one tensor at a time, and hands each to `place` before reading the next,
 * so at most one tensor's temporary copy is alive beside what the backend keeps.
 */
export async function loadCpuWeights<M, V>(
  model: ModelFile,
  place: WeightPlacer<M, V>,
  onProgress?: (tensors: number, totalTensors: number) => void,
): Promise<CpuWeights<M, V>> {
  const c = model.config;
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const total = model.tensors.length;
  let done = 0;
  const tick = () => onProgress?.(++done, total);
  const info = (name: string) => {
    const t = model.tensors.find((x) => x.name === name);
    if (!t) throw new EdgeLMError('CORRUPT', `The model has no tensor ${name}`, { tensor: name });
    return t;
  };
  const mat = async (name: string, rows: number, cols: number) => {
    const m = place.matrix(await loadMatrix(model, info(name), rows, cols));
    tick();
    return m;
  };
  const vec = async (name: string, n: number) => {
    const v = place.vector(await readF32(model, name, n));
    tick();
    return v;
  };
  const has = (n: string) => model.tensors.some((t) => t.name === n);
  const f = c.features;
  const opt = (use: boolean, name: string, n: number) => (use ? vec(name, n) : undefined);
  const layers: CpuLayer<M, V>[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      rmsAtt: await vec(T.attnNorm(l), c.dim),
      wq: await mat(T.attnQ(l), qDim, c.dim),
      wk: await mat(T.attnK(l), kvDim, c.dim),
      wv: await mat(T.attnV(l), kvDim, c.dim),
      bq: has(T.attnQBias(l)) ? await vec(T.attnQBias(l), qDim) : undefined,
      bk: has(T.attnKBias(l)) ? await vec(T.attnKBias(l), kvDim) : undefined,
      bv: has(T.attnVBias(l)) ? await vec(T.attnVBias(l), kvDim) : undefined,
      qNorm: await opt(f.qkNorm, T.attnQNorm(l), c.headDim),
      kNorm: await opt(f.qkNorm, T.attnKNorm(l), c.headDim),
      wo: await mat(T.attnOutput(l), c.dim, qDim),
      postAttnNorm: await opt(f.postNorms, T.attnPostNorm(l), c.dim),
      rmsFfn: await vec(T.ffnNorm(l), c.dim),
      postFfnNorm: await opt(f.postNorms, T.ffnPostNorm(l), c.dim),
      w1: await mat(T.ffnGate(l), c.hiddenDim, c.dim),
      w2: await mat(T.ffnDown(l), c.dim, c.hiddenDim),
      w3: await mat(T.ffnUp(l), c.hiddenDim, c.dim),
    });
  }
  const embedding = await mat(T.tokenEmbd, c.vocabSize, c.dim);
  const rmsFinal = await vec(T.outputNorm, c.dim);
  const wcls = c.tiedEmbeddings ? embedding : await mat(T.output, c.vocabSize, c.dim);
  const factors = f.rope.factors ? await readF32(model, f.rope.factors, f.rope.dims / 2) : null;
  if (factors) tick();
  return { embedding, layers, rmsFinal, wcls, ropeFreqs: layerFrequencies(c, factors) };
}

/**
 * Checks that `pages` maps positions [0, npos) to pages of the pool: a page index outside it
 * would read or write another sequence's cache (in wasm memory, the weights).
 */
export function checkPages(pages: Int32Array, npos: number, pageSize: number, pageCount: number): void {
  const used = Math.ceil(npos / pageSize);
  if (used > pages.length) {
    throw new EdgeLMError('CONTEXT_OVERFLOW', `Position ${npos - 1} has no KV page`, {
      pos: npos - 1,
      pages: pages.length,
    });
  }
  for (let i = 0; i < used; i++) {
    const page = pages[i]!;
    if (!(page >= 0 && page < pageCount)) {
      throw new EdgeLMError('INVALID_ARGUMENT', `KV page ${page} is outside the pool of ${pageCount}`, {
        page,
        pageCount,
      });
    }
  }
}
