import { parseArgs } from 'node:util';
import type { BackendName } from '../backends/backend.js';
import { EdgeLMError, isEdgeLMError } from '../errors.js';
import { convert } from './commands/convert.js';
import { generate } from './commands/generate.js';
import { inspect } from './commands/inspect.js';
import { synth } from './commands/synth.js';
import { defaultModel } from './resolve-model.js';

const USAGE = `edgelm — run and convert small language models

  edgelm generate [FILE|URL] [--tokenizer T] [-p TEXT] [-n N] [--temp T] [--seed S] [--top-k K] [--top-p P] [--backend cpu|webgpu|auto]
  edgelm inspect FILE [--tokenizer T]
  edgelm convert IN [--tokenizer T] -o OUT.gguf --type f16|bf16|q8_0|q6_k|q5_k_m|q5_k_s|q4_k_m|q4_k_s|q3_k_m|q2_k|q4_0|iq4_xs|…
  edgelm synth --shape stories15M|stories42M|stories110M|tinyllama-1.1b -o OUT.gguf --type q8_0|q4_k_m|… [--seed S]
  edgelm synth --arch llama|llama3|qwen2|qwen3|gemma3|phi3 -o OUT.gguf [--seed S]
  edgelm export-onnx IN [--tokenizer T] -o DIR [--weights f32|int8|int4]

Without a model, generate uses stories260K from EDGELM_MODELS_DIR, or downloads it once from the Hub.`;

const out = (s: string) => process.stdout.write(s);
const log = (s: string) => process.stderr.write(`${s}\n`);

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tokenizer: { type: 'string' },
      prompt: { type: 'string', short: 'p' },
      n: { type: 'string', short: 'n' },
      temp: { type: 'string' },
      seed: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string', short: 'o' },
      type: { type: 'string' },
      shape: { type: 'string' },
      arch: { type: 'string' },
      weights: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file] = positionals;
  const need = (x: string | undefined, what: string): string => {
    if (!x) throw new EdgeLMError('INVALID_ARGUMENT', `${command} needs ${what}\n\n${USAGE}`);
    return x;
  };
  const num = (x: string | undefined) => (x === undefined ? undefined : Number(x));
  switch (command) {
    case 'generate': {
      const def = file ? { model: file, tokenizer: v.tokenizer } : await defaultModel();
      await generate(
        {
          model: def.model,
          tokenizer: v.tokenizer ?? def.tokenizer,
          prompt: v.prompt ?? 'Once upon a time',
          maxTokens: num(v.n) ?? 256,
          temperature: num(v.temp) ?? 0,
          seed: num(v.seed),
          topK: num(v['top-k']),
          topP: num(v['top-p']),
          backend: (v.backend ?? 'auto') as BackendName | 'auto',
        },
        out,
        log,
      );
      return 0;
    }
    case 'inspect':
      await inspect(need(file, 'a FILE'), v.tokenizer, (s) => out(`${s}\n`));
      return 0;
    case 'convert':
      await convert(
        need(file, 'an input file'),
        { tokenizer: v.tokenizer, out: need(v.out, '-o OUT'), type: v.type ?? 'q8_0' },
        log,
      );
      return 0;
    case 'synth':
      await synth(
        {
          shape: v.arch === undefined ? need(v.shape, '--shape') : undefined,
          arch: v.arch,
          out: need(v.out, '-o OUT'),
          type: v.type ?? 'q8_0',
          seed: num(v.seed) ?? 1,
        },
        log,
      );
      return 0;
    case 'export-onnx': {
      const { exportOnnxCommand } = await import('./commands/export-onnx.js');
      await exportOnnxCommand(
        need(file, 'an input file'),
        { tokenizer: v.tokenizer, out: need(v.out, '-o DIR'), weights: v.weights ?? 'f32' },
        log,
      );
      return 0;
    }
    default:
      out(`${USAGE}\n`);
      return v.help || command === undefined ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isEdgeLMError(e)) log(`edgelm: ${e.code}: ${e.message}`);
    else log(`edgelm: ${(e as Error)?.stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
