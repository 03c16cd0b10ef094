/**
 * Per-sequence sampling state the GPU sampler reads and the decode-advance kernel updates, so
 * several decode steps run without the host: parameters, the RNG counter (the position of the
 * token being chosen), how many recent tokens the sequence's window buffer holds and which
 * output slot the next token goes to. One record of {@link SAMPLE_STATE_WORDS} u32 words each.
 */
export const SAMPLE_STATE_WORDS = 16;

/** Field offsets (u32 words) inside one record. */
export const SampleField = {
  temperature: 0,
  topK: 1,
  topP: 2,
  minP: 3,
  penalty: 4,
  window: 5,
  seed: 6,
  counter: 7,
  recent: 8,
  step: 9,
} as const;

/** What one sequence's record holds (floats as numbers; they are stored as f32). */
export interface SampleState {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  penalty: number;
  window: number;
  seed: number;
  counter: number;
  /** Tokens already in the sequence's recent buffer. */
  recent: number;
  step?: number;
}

/** Writes record `s` of `out` (a u32 view; floats go through an f32 view of the same bytes). */
export function writeSampleState(out: Uint32Array, s: number, v: SampleState): void {
  const o = s * SAMPLE_STATE_WORDS;
  const f = new Float32Array(out.buffer, out.byteOffset, out.length);
  f[o + SampleField.temperature] = v.temperature;
  out[o + SampleField.topK] = v.topK >>> 0;
  f[o + SampleField.topP] = v.topP;
  f[o + SampleField.minP] = v.minP;
  f[o + SampleField.penalty] = v.penalty;
  out[o + SampleField.window] = v.window >>> 0;
  out[o + SampleField.seed] = v.seed >>> 0;
  out[o + SampleField.counter] = v.counter >>> 0;
  out[o + SampleField.recent] = v.recent >>> 0;
  out[o + SampleField.step] = (v.step ?? 0) >>> 0;
}

/** The WGSL view of a record (expects a `SS: array<u32>` binding). */
export const sampleStateWgsl = `struct SampleState {
  temperature: f32, topK: u32, topP: f32, minP: f32, penalty: f32,
  window: u32, seed: u32, counter: u32, recent: u32,
}
fn load_state(s: u32) -> SampleState {
  let o = s * ${SAMPLE_STATE_WORDS}u;
  return SampleState(
    bitcast<f32>(SS[o + ${SampleField.temperature}u]), SS[o + ${SampleField.topK}u],
    bitcast<f32>(SS[o + ${SampleField.topP}u]), bitcast<f32>(SS[o + ${SampleField.minP}u]),
    bitcast<f32>(SS[o + ${SampleField.penalty}u]), SS[o + ${SampleField.window}u],
    SS[o + ${SampleField.seed}u], SS[o + ${SampleField.counter}u], SS[o + ${SampleField.recent}u],
  );
}
`;
