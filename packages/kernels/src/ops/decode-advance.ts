import { type BindingSpec, bindingsWgsl } from '../gpu/bindings.js';
import type { ProgramSpec } from '../gpu/program.js';
import { UniformLayout } from '../gpu/uniforms.js';
import { SAMPLE_STATE_WORDS, SampleField } from './sample-state.js';

/**
 * Between two decode steps encoded in one submission: each sequence's sampled token becomes its
 * next input (the step's meta row: token, position + 1), is recorded in its output row and
 * appended to its recent-token window, and its RNG counter moves on, so the next step embeds,
 * attends and samples without the host. Step s's row of META is sequence s (one token each).
 *
 * Buffers: SAMPLED [nSeq] ids, META [nSeq, 4], SS sampling state, REC [nSeq, recStride],
 * STEPS [nSeq, maxSteps].
 */
export const decodeAdvanceUniforms = new UniformLayout({ nSeq: 'u32', recStride: 'u32', maxSteps: 'u32' });

const bindings: BindingSpec[] = [
  { name: 'SAMPLED', access: 'read', type: 'array<u32>' },
  { name: 'META', access: 'read_write', type: 'array<u32>' },
  { name: 'SS', access: 'read_write', type: 'array<u32>' },
  { name: 'REC', access: 'read_write', type: 'array<u32>' },
  { name: 'STEPS', access: 'read_write', type: 'array<u32>' },
  { name: 'P', access: 'uniform', type: 'Params' },
];

/**
 * The advance of sequence `s` to token `tok`, for every kernel that knows the token: the kernel
 * below, and the sampler, which advances its own sequence so a sampled step needs no extra
 * dispatch. Expects META, SS, REC and STEPS bound read_write and `P.recStride`, `P.maxSteps`.
 */
export const advanceWgsl = `fn advance_seq(s: u32, tok: u32) {
  META[s * 4u] = tok;
  META[s * 4u + 1u] += 1u;
  let o = s * ${SAMPLE_STATE_WORDS}u;
  let k = SS[o + ${SampleField.step}u];
  STEPS[s * P.maxSteps + min(k, P.maxSteps - 1u)] = tok;
  SS[o + ${SampleField.step}u] = k + 1u;
  SS[o + ${SampleField.counter}u] += 1u;
  let c = SS[o + ${SampleField.recent}u];
  if (c < P.recStride) {
    REC[s * P.recStride + c] = tok;
    SS[o + ${SampleField.recent}u] = c + 1u;
  }
}
`;

export function decodeAdvanceProgram(): ProgramSpec<{ wg: number }> {
  return {
    op: 'decode_advance',
    variant: { wg: 64 },
    build: () => ({
      bindings,
      workgroupSize: 64,
      wgsl: `${decodeAdvanceUniforms.wgsl()}
${bindingsWgsl(bindings)}
${advanceWgsl}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let s = g.x;
  if (s >= P.nSeq) { return; }
  advance_seq(s, SAMPLED[s]);
}
`,
    }),
  };
}
