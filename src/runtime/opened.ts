/**
 * What a start-up has opened so far (connections, queues, workers, threads, timers, servers), to be
 * closed the last opened first: when the service stops, or at once when start-up fails part-way, so
 * that whoever caught the failure (a test, an embedder) is left with nothing of it running.
 */
export class Opened {
  private readonly closers: (() => Promise<unknown>)[] = [];

  /** Keeps `close` for `resource`, and returns the resource. */
  add<T>(resource: T, close: (resource: T) => unknown): T {
    this.closers.push(async () => close(resource));
    return resource;
  }

  /**
   * Closes everything, the last opened first. Every closer runs, whichever failed before it; the
   * failures are returned, for the caller to report or throw.
   */
  async close(): Promise<unknown[]> {
    const failures: unknown[] = [];
    for (let close = this.closers.pop(); close; close = this.closers.pop()) {
      await close().catch((error: unknown) => failures.push(error));
    }
    return failures;
  }
}
