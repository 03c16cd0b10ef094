import { Template } from '@huggingface/jinja';
import type { ChatMessage, ChatTool } from '../api/types.js';
import { EdgeLMError } from '../errors.js';

/**
 * Renders chat messages into a prompt. Models that ship `tokenizer.chat_template` get it
 * rendered with @huggingface/jinja (the same engine transformers.js uses); base models without
 * one get their messages' text joined by newlines, so a story model continues the last message.
 */
export class ChatTemplate {
  private readonly template: Template | null;

  constructor(
    source: string | undefined,
    private readonly specials: { bos: string; eos: string },
  ) {
    try {
      this.template = source ? new Template(source) : null;
    } catch (e) {
      throw new EdgeLMError(
        'CORRUPT',
        `The model's chat template does not parse: ${(e as Error).message}`,
        {},
        e,
      );
    }
  }

  get isPlain(): boolean {
    return this.template === null;
  }

  /** `tools` (OpenAI's shape) reaches the template as its `tools` variable, as transformers passes it. */
  render(messages: readonly ChatMessage[], tools?: readonly ChatTool[]): string {
    if (!this.template) return messages.map((m) => m.content ?? '').join('\n');
    try {
      return this.template.render({
        messages: messages.map((m) => ({ ...m, content: m.content ?? '' })),
        ...(tools && tools.length > 0 ? { tools } : {}),
        add_generation_prompt: true,
        bos_token: this.specials.bos,
        eos_token: this.specials.eos,
      });
    } catch (e) {
      throw new EdgeLMError('INVALID_ARGUMENT', `The chat template failed: ${(e as Error).message}`, {}, e);
    }
  }
}
