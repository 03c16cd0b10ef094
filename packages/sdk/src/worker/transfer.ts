import * as Comlink from 'comlink';
import { EdgeLMError, type EdgeLMErrorCode, isEdgeLMError } from '../errors.js';

type Thrown =
  | { edgelm: true; code: EdgeLMErrorCode; message: string; details: EdgeLMError['details'] }
  | { edgelm: false; name: string; message: string; stack?: string };

/**
 * comlink's own 'throw' handler flattens errors to name/message/stack. This one keeps
 * EdgeLMError's class and code across the worker boundary, so `err.code` works on both sides.
 * Both sides import this module, which registers the handler once.
 */
const builtin = Comlink.transferHandlers.get('throw')!;
Comlink.transferHandlers.set('throw', {
  // comlink marks thrown values with a private symbol; its own test recognises them.
  canHandle: (value: unknown): value is { value: unknown } => builtin.canHandle(value),
  serialize({ value }: { value: unknown }) {
    const out: Thrown = isEdgeLMError(value)
      ? { edgelm: true, code: value.code, message: value.message, details: value.details }
      : value instanceof Error
        ? { edgelm: false, name: value.name, message: value.message, stack: value.stack }
        : { edgelm: false, name: 'Error', message: String(value) };
    return [out, []];
  },
  deserialize(t: Thrown) {
    if (t.edgelm) throw new EdgeLMError(t.code, t.message, t.details);
    throw Object.assign(new Error(t.message), { name: t.name, stack: t.stack });
  },
} as Comlink.TransferHandler<{ value: unknown }, Thrown>);

/** Events of one streamed call, posted from the worker to the page. */
export type StreamEvent<C, R> =
  | { type: 'chunk'; chunk: C }
  | { type: 'end'; result: R }
  | { type: 'error'; error: ReturnType<EdgeLMError['toJSON']> };

export { Comlink };
