import { describe, expect, it } from 'vitest';
import { type SseEvent, SseParser } from '../src/remote/sse.js';

/** mulberry32: a seeded generator so every failing split can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'b', ' ', '{', '"', ':', 'é', '日', '😀', '[DONE]', 'data', ','];

function randomText(r: () => number, max: number): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

/** Encodes events the many ways the spec allows, and returns what a parser must report. */
function randomStream(r: () => number): { wire: string; expected: SseEvent[] } {
  const eols = ['\n', '\r\n', '\r'];
  let wire = '';
  // After a bare '\r', a '\n' would merge with it into one line break: pick another ending.
  const eol = () => {
    const e = eols[Math.floor(r() * eols.length)];
    return wire.endsWith('\r') && e.startsWith('\n') ? '\r' : e;
  };
  wire += r() < 0.2 ? '\uFEFF' : '';
  const expected: SseEvent[] = [];
  let lastId = '';
  const n = 1 + Math.floor(r() * 8);
  for (let e = 0; e < n; e++) {
    if (r() < 0.3) wire += `: keep-alive${eol()}`;
    let event = '';
    if (r() < 0.3) {
      event = 'custom';
      wire += `event: custom${eol()}`;
    }
    if (r() < 0.2) {
      lastId = String(e);
      wire += `id:${lastId}${eol()}`;
    }
    const lines = 1 + Math.floor(r() * 3);
    const data: string[] = [];
    for (let l = 0; l < lines; l++) {
      const text = randomText(r, 12);
      data.push(text);
      // The single space after the colon is optional and stripped; a second one is data.
      wire += (r() < 0.5 || text.startsWith(' ') ? `data: ${text}` : `data:${text}`) + eol();
    }
    if (r() < 0.2) wire += `retry: 1000${eol()}`;
    wire += eol();
    expected.push({ event: event || 'message', data: data.join('\n'), id: lastId });
  }
  return { wire, expected };
}

function parseInPieces(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const out: SseEvent[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...parser.push(bytes.subarray(prev, cut)));
    prev = cut;
  }
  out.push(...parser.end());
  return out;
}

describe('SseParser', () => {
  it('parses the same events however the byte stream is split (500 random streams × splits)', () => {
    const r = rng(42);
    for (let trial = 0; trial < 500; trial++) {
      const { wire, expected } = randomStream(r);
      const bytes = new TextEncoder().encode(wire);
      const cuts: number[] = [];
      for (let i = 1; i < bytes.length; i++) if (r() < 0.3) cuts.push(i);
      expect(parseInPieces(bytes, cuts), `trial ${trial}: ${JSON.stringify(wire)} cut at ${cuts}`).toEqual(
        expected,
      );
    }
  });

  it('parses byte by byte, including a \\r\\n split between chunks', () => {
    const wire = 'data: {"a":1}\r\n\r\n: ping\r\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]\r\n\r\n';
    const bytes = new TextEncoder().encode(wire);
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(parseInPieces(bytes, cuts).map((e) => e.data)).toEqual(['{"a":1}', 'x\ny', '[DONE]']);
  });

  it('treats a lone \\r as a line end and does not swallow the next line', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\rdata: b\n\n').map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('ignores comments, blank dispatches and unknown fields; records retry', () => {
    const p = new SseParser();
    const events = p.push(':hello\n\n\nfoo: bar\nretry: 2500\nretry: soon\ndata\n\n');
    expect(events).toEqual([{ event: 'message', data: '', id: '' }]);
    expect(p.retryMs).toBe(2500);
  });

  it('drops an event cut off by the end of the stream', () => {
    const p = new SseParser();
    expect(p.push('data: complete\n\ndata: half')).toHaveLength(1);
    expect(p.end()).toEqual([]);
  });
});
