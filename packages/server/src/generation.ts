import type { ChatFinishReason, ChatToolCall, Engine } from '@edgelm/sdk';
import { type ChatCall, type CompletionCall, toChatRequest } from './request.js';
import type { CachedResponse } from './response-cache.js';

/** One streamed piece: text and, where the engine reports it, the token id (else -1). */
export interface Piece {
  text: string;
  token: number;
}

/** How a generation ended. */
export interface Summary {
  finishReason: ChatFinishReason;
  /** The calls a chat answer made (then `finishReason` is 'tool_calls'). */
  toolCalls?: ChatToolCall[];
  promptTokens: number;
  completionTokens: number;
  prefixTokensReused: number;
  /** Answered from a cache (ours or the engine's), not generated. */
  cached: boolean;
}

/**
 * One request's output as pieces, whatever produced it: `engine.generate` for text
 * completions, `engine.chat.completions.create` (which applies the model's chat template) for
 * chat, or a cached answer. `summary` is set once `pieces()` has finished.
 */
export interface Generation {
  pieces(): AsyncGenerator<Piece, void, undefined>;
  summary: Summary | undefined;
}

export function completionGeneration(engine: Engine, call: CompletionCall, signal: AbortSignal): Generation {
  const g: Generation = {
    summary: undefined,
    async *pieces() {
      const stream = engine.generate(call.prompt, { ...call.options, signal });
      for await (const chunk of stream) yield { text: chunk.text, token: chunk.token };
      const r = await stream.result;
      g.summary = {
        finishReason: r.finishReason,
        promptTokens: r.usage.promptTokens,
        completionTokens: r.usage.completionTokens,
        prefixTokensReused: r.prefixTokensReused,
        cached: r.cached,
      };
    },
  };
  return g;
}

export function chatGeneration(engine: Engine, call: ChatCall, signal: AbortSignal): Generation {
  const g: Generation = {
    summary: undefined,
    async *pieces() {
      const stream = await engine.chat.completions.create({ ...toChatRequest(call, signal), stream: true });
      const s: Summary = {
        finishReason: 'stop',
        promptTokens: 0,
        completionTokens: 0,
        prefixTokensReused: 0,
        cached: false,
      };
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta.content) yield { text: choice.delta.content, token: -1 };
        for (const d of choice?.delta.tool_calls ?? []) {
          s.toolCalls ??= [];
          s.toolCalls[d.index] = {
            id: d.id ?? `call_${d.index}`,
            type: 'function',
            function: { name: d.function.name ?? '', arguments: d.function.arguments ?? '' },
          };
        }
        if (choice?.finish_reason) s.finishReason = choice.finish_reason;
        if (chunk.usage) {
          s.promptTokens = chunk.usage.prompt_tokens;
          s.completionTokens = chunk.usage.completion_tokens;
        }
        if (chunk.edgelm) {
          s.prefixTokensReused = chunk.edgelm.prefixTokensReused;
          s.cached = chunk.edgelm.cached;
        }
      }
      g.summary = s;
    },
  };
  return g;
}

/** Replays a cached answer as a single piece. */
export function cachedGeneration(hit: CachedResponse): Generation {
  return {
    summary: {
      finishReason: hit.finishReason,
      promptTokens: hit.promptTokens,
      completionTokens: hit.completionTokens,
      prefixTokensReused: 0,
      cached: true,
    },
    async *pieces() {
      if (hit.text) yield { text: hit.text, token: -1 };
    },
  };
}
