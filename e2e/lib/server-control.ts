import type { Fault, PathStats } from '../server/test-server.js';

/**
 * The spec's handle on the test server: what was requested, and faults to inject. Counters are
 * per URL path (query strings ignored); the fixture resets them before every test.
 */
export class ServerControl {
  constructor(readonly url: string) {}

  async stats(): Promise<Record<string, PathStats>> {
    return (await fetch(`${this.url}/__control/stats`)).json() as Promise<Record<string, PathStats>>;
  }

  /** Stats of one path, zeros when it was never requested. */
  async statsOf(path: string): Promise<PathStats> {
    return (await this.stats())[path] ?? { requests: 0, ranges: [], bytes: 0, cuts: 0 };
  }

  /** Clears counters and faults. */
  async reset(): Promise<void> {
    await this.post('reset', {});
  }

  /** Drops the connection once `afterBytes` body bytes of `path` were sent (see {@link Fault}). */
  async fault(fault: Fault): Promise<void> {
    await this.post('fault', fault);
  }

  private async post(what: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.url}/__control/${what}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`control ${what}: ${res.status} ${await res.text()}`);
  }
}
