// A Hugging Face model folder around our ONNX export, laid out the way transformers.js looks for
// one (`config.json`, `generation_config.json`, `tokenizer.json`, `tokenizer_config.json`,
// `onnx/model.onnx`), plus `model.onnx`/`tokenizer-data.json` at the top for edgelm's own ONNX
// loader — one folder that both read, so both run the very same graph.
import { EdgeLMError } from '../../src/errors.js';
import type { OnnxExport } from '../../src/formats/onnx/export.js';
import { OnnxFiles } from '../../src/formats/onnx/onnx-config.js';
import { TOKEN_TYPE, type TokenizerData } from '../../src/tokenizer/tokenizer-data.js';

/** tokenizer.json (the `tokenizers` library's format) of a SentencePiece-BPE llama vocabulary. */
export interface HfTokenizerJson {
  version: '1.0';
  added_tokens: {
    id: number;
    content: string;
    special: true;
    single_word: false;
    lstrip: false;
    rstrip: false;
    normalized: false;
  }[];
  normalizer: unknown;
  pre_tokenizer: null;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type: 'BPE';
    unk_token: string | null;
    fuse_unk: true;
    byte_fallback: true;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

const isControl = (t: TokenizerData, id: number) =>
  id === t.bos ||
  id === t.eos ||
  id === t.unk ||
  t.tokenTypes?.[id] === TOKEN_TYPE.control ||
  t.tokenTypes?.[id] === TOKEN_TYPE.unknown;

/**
 * What Hugging Face's `LlamaConverter` writes for a SentencePiece BPE model: merges ranked by the
 * merged piece's score (SentencePiece merges the best-scoring pair first, as BPE merges the
 * lowest rank), byte fallback, the dummy-prefix `▁` as a normalizer, BOS by the post-processor.
 */
export function hfTokenizerJson(t: TokenizerData): HfTokenizerJson {
  if (t.model !== 'llama') {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      'Only SentencePiece (llama) vocabularies convert to tokenizer.json here',
      {
        model: t.model,
      },
    );
  }
  const vocab: Record<string, number> = {};
  t.tokens.forEach((piece, id) => {
    if (!(piece in vocab)) vocab[piece] = id;
  });
  // A half is reachable when it is a piece or a single character: SentencePiece starts from
  // characters whether or not the vocabulary has them (only what stays unmerged falls back to
  // bytes), and so does the tokenizers library's BPE, which merges strings by rank.
  const reachable = (s: string) => s in vocab || Array.from(s).length === 1;
  const order = (s: string) => vocab[s] ?? t.tokens.length;
  const ranked: { left: string; right: string; score: number }[] = [];
  t.tokens.forEach((piece, id) => {
    if (isControl(t, id) || t.tokenTypes?.[id] === TOKEN_TYPE.byte || /^<0x[0-9A-F]{2}>$/.test(piece)) return;
    const chars = Array.from(piece);
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (reachable(left) && reachable(right)) ranked.push({ left, right, score: t.scores[id] ?? 0 });
    }
  });
  ranked.sort(
    (a, b) => b.score - a.score || order(a.left) - order(b.left) || order(a.right) - order(b.right),
  );
  const specials = t.tokens.map((_, id) => id).filter((id) => isControl(t, id));
  const bos = t.tokens[t.bos]!;
  return {
    version: '1.0',
    added_tokens: specials.map((id) => ({
      id,
      content: t.tokens[id]!,
      special: true,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        ...(t.addSpacePrefix ? [{ type: 'Prepend', prepend: '▁' }] : []),
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        ...(t.addBos ? [{ SpecialToken: { id: bos, type_id: 0 } }] : []),
        { Sequence: { id: 'A', type_id: 0 } },
      ],
      pair: [
        ...(t.addBos ? [{ SpecialToken: { id: bos, type_id: 0 } }] : []),
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: t.addBos ? { [bos]: { id: bos, ids: [t.bos], tokens: [bos] } } : {},
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(t.addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      unk_token: t.unk === undefined ? null : t.tokens[t.unk]!,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ranked.map((m) => [m.left, m.right]),
    },
  };
}

const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 1)}\n`);

/** Relative path → bytes of the folder, for one exported model and its vocabulary. */
export function hfModelFolder(onnx: OnnxExport, t: TokenizerData): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set(OnnxFiles.model, onnx.model);
  files.set('onnx/model.onnx', onnx.model);
  files.set(OnnxFiles.config, json({ ...onnx.config, use_cache: true }));
  files.set(OnnxFiles.tokenizer, json(onnx.tokenizer));
  files.set('tokenizer.json', json(hfTokenizerJson(t)));
  files.set(
    'tokenizer_config.json',
    json({
      tokenizer_class: 'LlamaTokenizer',
      add_bos_token: t.addBos,
      add_eos_token: false,
      bos_token: t.tokens[t.bos],
      eos_token: t.tokens[t.eos],
      unk_token: t.unk === undefined ? null : t.tokens[t.unk],
      legacy: true,
      clean_up_tokenization_spaces: false,
      model_max_length: onnx.config.max_position_embeddings,
    }),
  );
  files.set(
    'generation_config.json',
    json({
      bos_token_id: t.bos,
      eos_token_id: t.eos,
      do_sample: false,
      max_length: onnx.config.max_position_embeddings,
    }),
  );
  return files;
}
