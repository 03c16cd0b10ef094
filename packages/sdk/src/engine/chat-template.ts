import { Template } from '@huggingface/jinja';
import { EdgeLMError } from '../errors.js';
import type { PromptPart } from '../tokenizer/tokenizer.js';

/** One part of a multi-part message content (OpenAI's `[{ type: 'text', text }]`). */
export interface TemplateContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/** A message as chat templates read it: `content` a string or parts; other fields pass through. */
export interface TemplateMessage {
  role: string;
  content: string | readonly TemplateContentPart[] | null;
  name?: string;
  tool_calls?: readonly unknown[];
  tool_call_id?: string;
  reasoning_content?: string;
}

/** Options of {@link ChatTemplate.render}. */
export interface ChatRenderOptions {
  /** End with the assistant's turn opening (default true). */
  addGenerationPrompt?: boolean;
  /** Tool (function) definitions, for templates that describe them to the model. */
  tools?: readonly unknown[];
  /** Further template variables (`enable_thinking`, `date_string`…). */
  variables?: Record<string, unknown>;
}

/** What the template needs of the vocabulary. */
export interface TemplateSpecials {
  bos: string;
  eos: string;
  /** Spans of a text that spell control tokens (the tokenizer's `controlSpans`). */
  controlSpans?: (text: string) => [number, number][];
}

/**
 * Renders chat messages into a prompt. Models that ship `tokenizer.chat_template` get it rendered
 * with @huggingface/jinja (the same engine transformers.js uses; it supplies `raise_exception`
 * and `strftime_now`); base models without one get their messages' text joined by newlines, so a
 * story model continues the last message.
 *
 * {@link renderParts} keeps user content from forging control tokens: control-token text inside
 * message content is swapped for placeholders while the template runs, then put back as parts
 * the tokenizer must read as plain text, while the template's own markers stay special.
 *
 * @example
 * ```ts
 * const t = new ChatTemplate(model.chatTemplate, { bos: '<s>', eos: '</s>', controlSpans: (s) => tok.controlSpans(s) });
 * const ids = await tok.encodeAsync(t.renderParts([{ role: 'user', content: 'Hi' }]));
 * ```
 */
export class ChatTemplate {
  private readonly template: Template | null;
  private stringContent: boolean | undefined;

  constructor(
    source: string | undefined,
    private readonly specials: TemplateSpecials,
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

  /** The prompt as one string (control-token text in content is not told apart). */
  render(messages: readonly TemplateMessage[], options: ChatRenderOptions = {}): string {
    return this.renderParts(messages, options)
      .map((p) => p.text)
      .join('');
  }

  /** The prompt as template text (`special: true`) and content-borne control-token text (`special: false`). */
  renderParts(messages: readonly TemplateMessage[], options: ChatRenderOptions = {}): PromptPart[] {
    if (!this.template) return [{ text: messages.map((m) => textOf(m.content)).join('\n'), special: false }];
    const marks = new Placeholders(messages);
    // as llama.cpp's chat layer: string content where the template prints strings, else parts
    const strings = this.takesStrings();
    const guarded = messages.map((m) => ({
      ...m,
      content: this.guardContent(strings ? flatten(m.content) : asParts(m.content), marks),
    }));
    try {
      return marks.restore(this.run(guarded, options));
    } catch (e) {
      throw new EdgeLMError('INVALID_ARGUMENT', `The chat template failed: ${(e as Error).message}`, {}, e);
    }
  }

  /** Whether the template prints a string `content` (most do; some only read typed parts). */
  private takesStrings(): boolean {
    if (this.stringContent === undefined) {
      const probe = '\uE000probe\uE001';
      try {
        this.stringContent = this.run([{ role: 'user', content: probe }], {}).includes(probe);
      } catch {
        this.stringContent = false;
      }
    }
    return this.stringContent;
  }

  private run(messages: readonly TemplateMessage[], options: ChatRenderOptions): string {
    return this.template!.render({
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: this.specials.bos,
      eos_token: this.specials.eos,
      ...(options.tools ? { tools: options.tools } : {}),
    });
  }

  private guardContent(content: TemplateMessage['content'], marks: Placeholders): TemplateMessage['content'] {
    if (typeof content === 'string') return marks.guard(content, this.specials.controlSpans);
    if (!Array.isArray(content)) return content;
    return content.map((p) =>
      typeof p.text === 'string' ? { ...p, text: marks.guard(p.text, this.specials.controlSpans) } : p,
    );
  }
}

/** String content; a null one (an assistant turn that only calls tools) reads as '', as templates expect. */
function flatten(content: TemplateMessage['content']): TemplateMessage['content'] {
  return Array.isArray(content) ? textOf(content) : (content ?? '');
}

function asParts(content: TemplateMessage['content']): TemplateMessage['content'] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function textOf(content: TemplateMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
}

/**
 * Private-use markers standing for control-token text while a template runs. The pair of
 * markers is chosen so that no message contains either, so a marker in the output can only be ours.
 */
class Placeholders {
  private readonly open: string;
  private readonly close: string;
  private readonly texts: string[] = [];

  constructor(messages: readonly TemplateMessage[]) {
    const all = messages.map((m) => textOf(m.content)).join('');
    let c = 0xe000;
    while (all.includes(String.fromCharCode(c)) || all.includes(String.fromCharCode(c + 1))) c += 2;
    this.open = String.fromCharCode(c);
    this.close = String.fromCharCode(c + 1);
  }

  guard(text: string, spans: TemplateSpecials['controlSpans']): string {
    const found = spans?.(text) ?? [];
    if (found.length === 0) return text;
    let out = '';
    let at = 0;
    for (const [s, e] of found) {
      out += `${text.slice(at, s)}${this.open}${this.texts.length.toString(36)}${this.close}`;
      this.texts.push(text.slice(s, e));
      at = e;
    }
    return out + text.slice(at);
  }

  restore(rendered: string): PromptPart[] {
    if (this.texts.length === 0) return [{ text: rendered, special: true }];
    const parts: PromptPart[] = [];
    const re = new RegExp(`${this.open}([0-9a-z]+)${this.close}`, 'g');
    let at = 0;
    for (const m of rendered.matchAll(re)) {
      const text = this.texts[Number.parseInt(m[1]!, 36)];
      if (text === undefined) continue;
      if (m.index > at) parts.push({ text: rendered.slice(at, m.index), special: true });
      parts.push({ text, special: false });
      at = m.index + m[0].length;
    }
    if (at < rendered.length) parts.push({ text: rendered.slice(at), special: true });
    return parts;
  }
}
