interface Scheduling {
  setImmediate?: (cb: () => void) => unknown;
  scheduler?: { yield?: () => Promise<void> };
}

let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

/**
 * Lets the event loop run other work (I/O, timers, messages) before resolving. Node's
 * `setImmediate` and the browser's `scheduler.yield` or a MessageChannel do it without the
 * 1–4 ms clamp of `setTimeout(0)`, which would make a long chunked encode needlessly slow.
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as Scheduling;
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate?.(r));
  if (typeof g.scheduler?.yield === 'function') return g.scheduler.yield();
  if (typeof MessageChannel === 'function') {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    const port = channel.port2;
    return new Promise((r) => {
      waiting.push(r);
      port.postMessage(0);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}
