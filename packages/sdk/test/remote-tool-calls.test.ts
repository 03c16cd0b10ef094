import { describe, expect, it } from 'vitest';
import { toChatChunks, toChatCompletion } from '../src/engine/openai.js';
import { isEdgeLMError } from '../src/errors.js';
import { RemoteClient } from '../src/remote/client.js';

/** A fetch that answers every request with these SSE events, as OpenAI streams a call. */
function sseFetch(events: unknown[]): typeof fetch {
  const wire = `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`;
  return (async () =>
    new Response(wire, { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;
}

const chunk = (delta: unknown, finish: string | null = null) => ({
  choices: [{ index: 0, delta, finish_reason: finish }],
});

// OpenAI's shape: id and name once, arguments in fragments, finish_reason "tool_calls".
const openAiCall = [
  chunk({ role: 'assistant', content: null }),
  chunk({
    tool_calls: [
      { index: 0, id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_def', function: { name: 'get_time', arguments: '{}' } }] }),
  chunk({}, 'tool_calls'),
];

const request = {
  messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
  tools: [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }],
};

describe('remote tool calls', () => {
  it('joins streamed fragments into the chat completion', async () => {
    const client = new RemoteClient({ url: 'http://remote.test', fetch: sseFetch(openAiCall) });
    const done = await toChatCompletion(client.chat(request), 'chatcmpl-1', 'm');
    const choice = done.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_def', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
    expect(done.edgelm).not.toHaveProperty('toolCalls');
  });

  it('streams them as tool_calls deltas with the tool_calls finish reason', async () => {
    const client = new RemoteClient({ url: 'http://remote.test', fetch: sseFetch(openAiCall) });
    const chunks = [];
    for await (const c of toChatChunks(client.chat(request), 'chatcmpl-2', 'm')) chunks.push(c);
    const calls = chunks.flatMap((c) => c.choices[0]!.delta.tool_calls ?? []);
    expect(calls.map((c) => [c.index, c.id, c.function.name, c.function.arguments])).toEqual([
      [0, 'call_abc', 'get_weather', '{"city":"Paris"}'],
      [1, 'call_def', 'get_time', '{}'],
    ]);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('keeps plain content answers unchanged', async () => {
    const client = new RemoteClient({
      url: 'http://remote.test',
      fetch: sseFetch([chunk({ content: 'Sunny.' }), chunk({}, 'stop')]),
    });
    const done = await toChatCompletion(client.chat(request), 'chatcmpl-3', 'm');
    expect(done.choices[0]!.message).toEqual({ role: 'assistant', content: 'Sunny.' });
    expect(done.choices[0]!.finish_reason).toBe('stop');
  });

  it('refuses a call without a function name with a typed error', async () => {
    const client = new RemoteClient({
      url: 'http://remote.test',
      fetch: sseFetch([
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
        chunk({}, 'tool_calls'),
      ]),
    });
    const err = await client
      .chat(request)
      .result.then(() => null)
      .catch((e: unknown) => e);
    expect(isEdgeLMError(err) && err.code).toBe('REMOTE_PROTOCOL');
  });
});
