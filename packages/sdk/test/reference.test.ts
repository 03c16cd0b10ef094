import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelFile } from '../src/model/model-file.js';
import { ReferenceModel } from '../src/reference/forward.js';
import { argmax } from '../src/sampler/sample.js';
import { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { openStories260K, REFERENCE_OPENING } from './helpers/models.js';

describe('CPU reference on stories260K', () => {
  let model: ModelFile;
  beforeAll(async () => {
    model = await openStories260K();
  });

  it('reads the llama2.c header', () => {
    expect(model.config).toMatchObject({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      contextLength: 512,
      tiedEmbeddings: true,
    });
  });

  it('greedy decoding of "Once upon a time" tells the known story', async () => {
    const tok = new Tokenizer(model.tokenizer);
    const ref = await ReferenceModel.load(model);
    const prompt = tok.encode('Once upon a time');
    const decoder = tok.decoder();
    let text = '';
    let token = prompt[0]!;
    for (let pos = 0; pos < 200; pos++) {
      const logits = ref.forward(token, pos);
      const next = pos + 1 < prompt.length ? prompt[pos + 1]! : argmax(logits);
      if (next === tok.eos) break;
      text += decoder.push(next);
      token = next;
    }
    expect(text.startsWith(REFERENCE_OPENING)).toBe(true);
  });
});
