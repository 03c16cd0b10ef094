/** The part of Node's `ServerResponse` the watchdog needs. */
export interface Outgoing {
  readonly writableNeedDrain: boolean;
  destroy(error?: Error): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * The write timeout of one streamed response: while the socket refuses more bytes (its buffer is
 * full because the client does not read) for longer than `timeoutMs`, the response is destroyed,
 * which cancels the body and so aborts the generation. A slow reader costs a bounded buffer and a
 * bounded time, never an unbounded queue held open forever.
 */
export function watchWrites(outgoing: Outgoing, timeoutMs: number, onTimeout: () => void = () => {}): void {
  let blockedSince: number | undefined;
  const timer = setInterval(
    () => {
      if (!outgoing.writableNeedDrain) {
        blockedSince = undefined;
        return;
      }
      const now = performance.now();
      blockedSince ??= now;
      if (now - blockedSince < timeoutMs) return;
      clearInterval(timer);
      onTimeout();
      outgoing.destroy(new Error(`The client read nothing for ${timeoutMs} ms`));
    },
    Math.max(10, Math.min(1_000, timeoutMs / 4)),
  );
  // The interval must never keep a process alive on its own.
  timer.unref?.();
  outgoing.once('close', () => clearInterval(timer));
}
