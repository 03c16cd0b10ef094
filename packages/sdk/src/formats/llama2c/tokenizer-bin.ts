import { EdgeLMError } from '../../errors.js';
import type { TokenizerData } from '../../tokenizer/tokenizer-data.js';
import type { ByteSource } from '../byte-source.js';

const MAX_TOKEN_BYTES = 1 << 16;

/**
 * Reads a llama2.c `tokenizer.bin`: int32 max_token_length, then per token a float32 score,
 * an int32 byte length and the bytes. llama2.c's exporter turned SentencePiece's '▁' into
 * spaces; we turn them back so vocabularies look the same whichever file they came from.
 */
export async function readLlama2cTokenizer(src: ByteSource, vocabSize: number): Promise<TokenizerData> {
  const bytes = await src.read(0, src.size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8');
  if (bytes.byteLength < 4) throw new EdgeLMError('TRUNCATED', `${src.name} is too short for a tokenizer`);
  const maxLen = view.getInt32(0, true);
  if (maxLen <= 0 || maxLen > MAX_TOKEN_BYTES) {
    throw new EdgeLMError('CORRUPT', `${src.name}: max token length ${maxLen} is invalid`, { maxLen });
  }
  const tokens: string[] = [];
  const scores = new Float32Array(vocabSize);
  const tokenTypes = new Int32Array(vocabSize);
  let at = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (at + 8 > bytes.byteLength) {
      throw new EdgeLMError('TRUNCATED', `${src.name} ends after ${i} of ${vocabSize} tokens`, { tokens: i });
    }
    scores[i] = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    at += 8;
    if (len < 0 || len > maxLen) {
      throw new EdgeLMError('CORRUPT', `${src.name}: token ${i} has length ${len}`, { token: i, len });
    }
    if (at + len > bytes.byteLength) {
      throw new EdgeLMError('TRUNCATED', `${src.name} ends inside token ${i}`, { token: i });
    }
    const piece = decoder.decode(bytes.subarray(at, at + len)).replaceAll(' ', '▁');
    at += len;
    tokens.push(piece);
    tokenTypes[i] = /^<0x[0-9A-F]{2}>$/.test(piece) ? 6 : i === 0 ? 2 : i === 1 || i === 2 ? 3 : 1;
  }
  return { model: 'llama', tokens, scores, tokenTypes, bos: 1, eos: 2, addBos: true, addSpacePrefix: true };
}
