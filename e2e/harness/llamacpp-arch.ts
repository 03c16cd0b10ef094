// The llama.cpp comparison page: its code lives beside the benchmarks that also drive it (and
// beside the wllama dependency), this entry only makes it a harness page.
import '../../packages/sdk/bench/browser/llamacpp-arch.js';

export type { LlamaCppArchResult } from '../../packages/sdk/bench/browser/llamacpp-arch.js';
