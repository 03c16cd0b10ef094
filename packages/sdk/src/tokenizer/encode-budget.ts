import { EdgeLMError } from '../errors.js';

/**
 * Stops an encode once it has produced more tokens than a caller can use, so an over-long
 * prompt is refused after counting `max + 1` tokens rather than after encoding all of it.
 */
export class EncodeBudget {
  constructor(readonly max: number) {}

  check(count: number): void {
    if (count > this.max) {
      throw new EdgeLMError(
        'CONTEXT_OVERFLOW',
        `The text is longer than ${this.max} tokens (counting stopped there)`,
        { maxTokens: this.max },
      );
    }
  }
}
