import { EdgeLMError } from '@edgelm/sdk';

/** The finish reasons OpenAI clients know; nothing else goes on the wire. */
const OPENAI_FINISH_REASONS: ReadonlySet<string> = new Set([
  'stop',
  'length',
  'tool_calls',
  'content_filter',
  'function_call',
]);

/** True when the generation ended with an answer a client may take as complete. */
export function isOpenAIFinish(reason: string): boolean {
  return OPENAI_FINISH_REASONS.has(reason);
}

/**
 * Why an answer was cut (the engine's `abort`): shutdown reached its deadline (503
 * `shutting_down`, retry elsewhere) or the generation was aborted for another reason (500). Sent
 * instead of the cut text, so a client never takes half an answer for a whole one.
 */
export function cutAnswerError(draining: boolean): EdgeLMError {
  return draining
    ? new EdgeLMError(
        'DISPOSED',
        'The server shut down before the answer was complete; retry on another replica',
      )
    : new EdgeLMError('INTERNAL', 'The generation was aborted before the answer was complete');
}
