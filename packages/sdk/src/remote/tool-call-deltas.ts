import type { ChatToolCall, ChatToolCallDelta } from '../api/types.js';
import { EdgeLMError } from '../errors.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads `delta.tool_calls` of one stream event. OpenAI sends a call's id and name once and its
 * arguments in fragments keyed by `index`; servers that omit `index` (some send each call whole)
 * get their position in the array.
 */
export function parseToolCallDeltas(v: unknown): ChatToolCallDelta[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw new EdgeLMError('REMOTE_PROTOCOL', 'Stream event has a non-array "tool_calls"');
  return v.map((d, i) => {
    if (!isObject(d)) throw new EdgeLMError('REMOTE_PROTOCOL', 'A streamed tool call is not an object');
    const fn = isObject(d.function) ? d.function : {};
    return {
      index: typeof d.index === 'number' ? d.index : i,
      ...(typeof d.id === 'string' ? { id: d.id } : {}),
      type: 'function' as const,
      function: {
        ...(typeof fn.name === 'string' ? { name: fn.name } : {}),
        ...(typeof fn.arguments === 'string' ? { arguments: fn.arguments } : {}),
      },
    };
  });
}

/** Joins streamed fragments into whole calls, in index order. */
export class ToolCallAccumulator {
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  add(deltas: readonly ChatToolCallDelta[]): void {
    for (const d of deltas) {
      const c = this.calls.get(d.index) ?? { id: '', name: '', arguments: '' };
      if (d.id) c.id = d.id;
      if (d.function.name) c.name += d.function.name;
      if (d.function.arguments) c.arguments += d.function.arguments;
      this.calls.set(d.index, c);
    }
  }

  get size(): number {
    return this.calls.size;
  }

  /** The calls so far; one without a name is a protocol error (nothing could run it). */
  result(): ChatToolCall[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => {
        if (!c.name)
          throw new EdgeLMError('REMOTE_PROTOCOL', `Tool call ${index} from the server has no function name`);
        return {
          id: c.id || `call_remote_${index}`,
          type: 'function' as const,
          function: { name: c.name, arguments: c.arguments },
        };
      });
  }
}
