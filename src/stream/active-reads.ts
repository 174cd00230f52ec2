// src/stream/: replays and exports: request schemas, frame writers, pacing, and the TCP replay server.
/**
 * The store reads that responses are streaming now (replays, exports), so
 * that a shutdown can stop them and wait for them before the store closes.
 * Closing the store under a read in flight fails that read with the
 * database's own error (DuckDB: "bad_weak_ptr"), logged as a failed request.
 */
export class ActiveReads {
  /** Each read in flight, with the controller that aborts it. */
  private readonly running = new Map<Promise<unknown>, AbortController>();
  private stopped = false;

  /**
   * Runs `read` with `abort`'s signal (aborted by the caller when its client
   * goes away, and by stop()) and tracks it until it settles.
   */
  async run<T>(abort: AbortController, read: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.stopped) abort.abort();
    const running = read(abort.signal);
    this.running.set(running, abort);
    try {
      return await running;
    } finally {
      this.running.delete(running);
    }
  }

  get size(): number {
    return this.running.size;
  }

  /** Aborts every read, now and later, and resolves once those running have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const abort of this.running.values()) abort.abort();
    await Promise.allSettled([...this.running.keys()]);
  }
}
