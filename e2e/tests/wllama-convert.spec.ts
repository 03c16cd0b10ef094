import { expect, test } from '../fixtures.js';
import type { WllamaConvertResult } from '../harness/wllama-convert.js';

/**
 * `edgelm convert --type q4_k_m` output must be a file llama.cpp itself loads and decodes (with
 * the type mix llama-quantize would give it) to the same greedy text as edgelm's CPU reference:
 * on the widened stories260K (rows of 256: K-quants throughout) and on a synthetic stories15M
 * shape (rows of 288: the K-quant fallbacks to Q5_0/Q8_0). The synthetic model starts from BOS
 * alone: its made-up vocabulary splits "Once upon a time" differently in llama.cpp's tokenizer
 * than in edgelm's, which is a tokenizer matter, not a weights one.
 */
for (const [source, prompt, tokens] of [
  ['wide', 'Once upon a time', 48],
  ['stories15M', '', 24],
] as const) {
  test(`convert --type q4_k_m of ${source} decodes in llama.cpp (wllama) as in edgelm`, async ({
    harness,
  }) => {
    test.setTimeout(300_000);
    const page = await harness('wllama-convert');
    await page.waitForFunction(() => typeof window.wllamaConvertCheck === 'function');
    const r: WllamaConvertResult = await page.evaluate(
      ([s, p, n]) => window.wllamaConvertCheck(s, 'q4_k_m', p, n),
      [source, prompt, tokens] as const,
    );
    console.log(
      `${source} q4_k_m: ${JSON.stringify(r.mix)} ${r.bytes} bytes\n  llama.cpp: ${r.llamaText}\n  edgelm:    ${r.edgelmText}`,
    );
    expect(r.fileType).toBe(15);
    expect(r.mix.Q4_K).toBeGreaterThan(0);
    expect(r.mix.Q6_K ?? 0).toBeGreaterThan(0);
    if (source === 'stories15M') expect(r.mix.Q5_0).toBeGreaterThan(0); // 288-wide rows fall back
    expect(r.llamaText.length).toBeGreaterThan(0);
    // Decoding from BOS alone, edgelm drops the first token's space prefix (as SentencePiece
    // does) and llama.cpp keeps it.
    const strip = (t: string) => t.replace(/^ /, '');
    expect(strip(r.llamaText)).toBe(strip(r.edgelmText));
  });
}
