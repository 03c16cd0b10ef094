/**
 * Incremental Server-Sent Events parser (WHATWG HTML §9.2.6), fed with arbitrary slices of the
 * byte stream. Network chunks split events, lines, `\r\n` pairs and even UTF-8 characters
 * anywhere, so the parser keeps all partial state between `push` calls.
 */

/** One dispatched event. `data` joins multi-line `data:` fields with `\n`. */
export interface SseEvent {
  event: string;
  data: string;
  id: string;
}

/**
 * @example
 * ```ts
 * const parser = new SseParser();
 * for (const ev of parser.push(bytes)) if (ev.data !== '[DONE]') handle(JSON.parse(ev.data));
 * ```
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  /** Text of the current, not yet terminated line. */
  private line = '';
  /** A chunk ended in `\r`: a `\n` at the start of the next one belongs to the same line break. */
  private afterCR = false;
  private data: string[] = [];
  private eventType = '';
  private lastId = '';
  /** Milliseconds the server asked clients to wait before reconnecting (`retry:`), if any. */
  retryMs: number | undefined;

  /** Feeds bytes (or already decoded text); returns the events completed by this slice. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let start = 0;
    let i = 0;
    if (this.afterCR && text.length > 0) {
      if (text.charCodeAt(0) === 10) start = i = 1;
      this.afterCR = false;
    }
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line += text.slice(start, i);
      this.endLine(events);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.afterCR = true;
        }
      }
      start = i + 1;
    }
    this.line += text.slice(start);
    return events;
  }

  /**
   * Ends the stream: a final event without its blank line is discarded, as the spec requires,
   * because a connection that drops mid-event must not deliver half an event.
   */
  end(): SseEvent[] {
    const tail = this.decoder.decode();
    const events = tail ? this.push(tail) : [];
    this.line = '';
    this.data = [];
    this.eventType = '';
    return events;
  }

  private endLine(events: SseEvent[]): void {
    const line = this.line;
    this.line = '';
    if (line === '') {
      this.dispatch(events);
      return;
    }
    // Lines starting with ':' are comments, which servers send as keep-alives.
    if (line.charCodeAt(0) === 58) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
      // Unknown fields are ignored by the spec.
    }
  }

  private dispatch(events: SseEvent[]): void {
    if (this.data.length === 0) {
      this.eventType = '';
      return;
    }
    events.push({ event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastId });
    this.data = [];
    this.eventType = '';
  }
}
