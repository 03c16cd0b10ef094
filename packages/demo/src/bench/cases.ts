import { createEngine, EdgeLMError, type Engine, type ModelInput } from '@edgelm/sdk';
import { convertToGguf } from '@edgelm/sdk/formats';
import { syntheticModel } from '@edgelm/sdk/synth';

/** One measured figure, in the shape every edgelm benchmark writes (bench-results/*.json). */
export interface BenchFigure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  baseline?: number;
  ratio?: number;
}

/** A model the benchmark runs, and how to get its bytes. */
export interface BenchModel {
  id: string;
  label: string;
  load(): Promise<{ model: ModelInput; tokenizer?: ModelInput }>;
}

export interface BenchPlan {
  models: BenchModel[];
  backends: ('webgpu' | 'cpu')[];
  promptTokens: number;
  decodeTokens: number;
  runs: number;
}

/** What one (model, backend) pair measured. */
export interface BenchRow {
  model: string;
  backend: string;
  prefill: number[];
  decode: number[];
  ttft: number[];
  loadMs: number;
  error?: string;
}

/** stories260K from the models directory when the server has one, else the Hub (via the weight cache). */
export function storiesModel(model: string, tokenizer: string): BenchModel {
  return { id: 'stories260K', label: 'stories260K f32', load: async () => ({ model, tokenizer }) };
}

/** A stories15M-shaped model with random weights, quantized to Q8_0 GGUF in the page. */
export const synthetic15M: BenchModel = {
  id: 'stories15M-q8',
  label: 'stories15M-shaped q8_0',
  load: async () => {
    const parts: Uint8Array[] = [];
    await convertToGguf(syntheticModel('stories15M', 1), 'q8_0', {
      write: async (b) => void parts.push(b.slice()),
    });
    return { model: await new Blob(parts as BlobPart[]).arrayBuffer() };
  },
};

/**
 * Runs every model on every backend: one warm-up, then `runs` generations of a fixed-length
 * token prompt (each run's prompt differs in its first token, so the prefix cache cannot skip
 * the prefill) with greedy decoding and the response cache off.
 */
export async function runPlan(
  plan: BenchPlan,
  onRow: (row: BenchRow, done: boolean) => void,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const m of plan.models) {
    const input = await m.load();
    for (const backend of plan.backends) {
      const row: BenchRow = { model: m.label, backend, prefill: [], decode: [], ttft: [], loadMs: 0 };
      rows.push(row);
      onRow(row, false);
      let engine: Engine | undefined;
      try {
        const t0 = performance.now();
        engine = await createEngine({ ...input, backend, maxBatch: 1 });
        row.loadMs = performance.now() - t0;
        const info = await engine.info();
        // 'auto' never runs here, but a backend that silently fell back must not be reported as itself.
        if (info.backend !== backend)
          throw new EdgeLMError('NO_BACKEND', `asked for ${backend}, the engine chose ${info.backend}`);
        const vocab = info.model.config.vocabSize;
        const prompt = (run: number) =>
          Array.from({ length: plan.promptTokens }, (_, i) => 3 + ((run * 101 + i * 37) % (vocab - 3)));
        await drain(engine, prompt(999), 4);
        for (let r = 0; r < plan.runs; r++) {
          const t = await drain(engine, prompt(r), plan.decodeTokens);
          row.prefill.push(t.prefillTokensPerSecond);
          row.decode.push(t.decodeTokensPerSecond);
          row.ttft.push(t.ttftMs);
          onRow(row, false);
        }
      } catch (e) {
        row.error = e instanceof Error ? e.message : String(e);
      } finally {
        await engine?.unload().catch(() => {});
      }
      onRow(row, true);
    }
  }
  return rows;
}

async function drain(engine: Engine, prompt: number[], maxTokens: number) {
  // EOS may end a run early; the engine's rates are per token actually generated.
  const stream = engine.generate(prompt, { maxTokens, temperature: 0, cache: false, route: 'local' });
  for await (const _ of stream) {
    // tokens are counted by the engine's timings
  }
  return (await stream.result).timings;
}

/** Median, min and max of samples, with a ratio against a baseline median. */
export function summarize(
  name: string,
  unit: string,
  samples: number[],
  baseline?: number,
): BenchFigure | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const fig: BenchFigure = { name, unit, median, min: s[0], max: s[s.length - 1], runs: s.length };
  if (baseline !== undefined && baseline > 0) {
    fig.baseline = baseline;
    fig.ratio = median / baseline;
  }
  return fig;
}

/** Figures of all rows; WebGPU rates carry their ratio against the CPU backend of the same model. */
export function figures(rows: BenchRow[]): BenchFigure[] {
  const out: BenchFigure[] = [];
  const median = (xs: number[]) => summarize('', '', xs)?.median;
  for (const r of rows) {
    const cpu =
      r.backend === 'cpu' ? undefined : rows.find((x) => x.model === r.model && x.backend === 'cpu');
    const add = (f: BenchFigure | undefined) => f && out.push(f);
    add(summarize(`${r.model} ${r.backend} decode`, 'tok/s', r.decode, cpu && median(cpu.decode)));
    add(summarize(`${r.model} ${r.backend} prefill`, 'tok/s', r.prefill, cpu && median(cpu.prefill)));
    add(summarize(`${r.model} ${r.backend} ttft`, 'ms', r.ttft));
  }
  return out;
}
