// The README's snippet, as a user pastes it: it must typecheck against the published types
// (strict, skipLibCheck: false). `output` is the page's element in the README.
import { createEngine } from '@edgelm/sdk';

declare const output: HTMLElement;

const engine = await createEngine({
  model: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin',
  tokenizer: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin',
  // backend: 'auto' (WebGPU, else CPU) · fallback: { url, privacy: 'allow-remote' } · onProgress, onMetrics
});

const stream = engine.generate('Once upon a time', { maxTokens: 100, temperature: 0 });
for await (const { text } of stream) output.textContent += text;
const { timings, prefixTokensReused, cached, servedBy } = await stream.result;

// OpenAI's shapes, streamed or not
const reply = await engine.chat.completions.create({
  messages: [{ role: 'user', content: 'Hi' }],
  stream: false,
});

export { cached, prefixTokensReused, reply, servedBy, timings };
