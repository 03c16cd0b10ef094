import { EdgeLMError } from '@edgelm/sdk';
import { cutAnswerError, isOpenAIFinish } from './finish-reason.js';
import type { Generation, Piece } from './generation.js';
import { openAIError } from './openai-error.js';
import {
  finishChunk,
  openingChunk,
  pieceChunk,
  type ResponseMeta,
  toolCallsChunk,
  usageChunk,
} from './openai-shapes.js';

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');
const event = (data: object) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);

/** Bytes of events the server holds for one slow reader before it stops pulling tokens. */
export const SSE_HIGH_WATER_BYTES = 64 * 1024;

export interface SseBodyOptions {
  meta: ResponseMeta;
  includeUsage: boolean;
  gen: Generation;
  it: AsyncIterator<Piece, void, undefined>;
  /** The first piece, already awaited or still pending. */
  first: IteratorResult<Piece, void> | Promise<IteratorResult<Piece, void>>;
  keepAliveMs: number;
  /** Aborts the generation; called when the client goes away. */
  abort: (reason: EdgeLMError) => void;
  /** Whether the server is shutting down, for the error that replaces a cut answer. */
  draining: () => boolean;
  onPiece: (p: Piece) => void;
  /** Called once, when the last byte was queued or the client went away. */
  onEnd: () => void;
  highWaterBytes?: number;
}

/**
 * An SSE body pulled by the writer: the next token is taken from the generation only when the
 * bytes already queued are below the high-water mark, so a client that reads slowly holds at
 * most that much here (the socket's own buffer aside; `watchWrites` bounds the time). It always
 * ends with `[DONE]`: after a finish chunk with an OpenAI finish reason, or after an error event
 * (OpenAI's shape, as OpenAI and vLLM send failures once headers are out) when the answer was
 * cut — a client never sees a cut answer end like a complete one.
 */
export function sseBody(o: SseBodyOptions): ReadableStream<Uint8Array> {
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let next: IteratorResult<Piece, void> | Promise<IteratorResult<Piece, void>> | undefined = o.first;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    o.onEnd();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(out) {
        const opening = openingChunk(o.meta);
        if (opening) out.enqueue(event(opening));
        // Keep-alives only when nothing is waiting to be read: they prove liveness, not fill buffers.
        keepAlive = setInterval(() => {
          if (!ended && (out.desiredSize ?? 0) > 0) out.enqueue(KEEP_ALIVE);
        }, o.keepAliveMs);
      },
      async pull(out) {
        if (ended) return;
        try {
          const r = await (next ?? o.it.next());
          next = undefined;
          if (ended) return; // cancelled while the token was coming
          if (!r.done) {
            o.onPiece(r.value);
            out.enqueue(event(pieceChunk(o.meta, r.value)));
            return;
          }
          const s = o.gen.summary!;
          if (isOpenAIFinish(s.finishReason)) {
            const calls = toolCallsChunk(o.meta, s);
            if (calls) out.enqueue(event(calls));
            out.enqueue(event(finishChunk(o.meta, s)));
            if (o.includeUsage) out.enqueue(event(usageChunk(o.meta, s)));
          } else out.enqueue(event(openAIError(cutAnswerError(o.draining())).body));
        } catch (e) {
          if (ended) return;
          out.enqueue(event(openAIError(e).body));
        }
        out.enqueue(DONE);
        out.close();
        end();
      },
      cancel() {
        o.abort(new EdgeLMError('ABORTED', 'The client closed the connection'));
        end();
      },
    },
    { highWaterMark: o.highWaterBytes ?? SSE_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
}
