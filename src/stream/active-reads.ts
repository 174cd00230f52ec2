/**
 * The store reads that responses are streaming now (replays, exports), so
 * that a shutdown can stop them and wait for them before the store closes.
 * Closing the store under a read in flight fails that read with the
 * database's own error (DuckDB: "bad_weak_ptr"), logged as a failed request.
 */
export class ActiveReads {
  private readonly running = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();

  /**
   * A signal for one read: aborted when `abort` is (the client went away) or
   * at stop(). Runs `read` with it and tracks it until it settles.
   */
  async run<T>(abort: AbortController, read: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const stop = () => abort.abort();
    if (this.stopping.signal.aborted) stop();
    else this.stopping.signal.addEventListener('abort', stop, { once: true });
    const running = read(abort.signal);
    this.running.add(running);
    try {
      return await running;
    } finally {
      this.running.delete(running);
      this.stopping.signal.removeEventListener('abort', stop);
    }
  }

  get size(): number {
    return this.running.size;
  }

  /** Aborts every read, now and later, and resolves once those running have ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.running]);
  }
}
