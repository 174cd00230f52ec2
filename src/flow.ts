/**
 * Flow control between threads. postMessage never pushes back, so each side
 * bounds what it has sent and not yet seen acknowledged (Credits), and reads
 * what arrives by message as an async iterable (Mailbox). And within one:
 * breather() lets the event loop turn.
 */

/**
 * Resolves after the event loop has turned (timers, I/O). A loop whose
 * awaits all settle at once (data already read, a socket that takes every
 * write) runs in microtasks and holds every other request back until it
 * ends: long loops await this every few hundred rows.
 */
export const breather = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A count of items sent and not yet acknowledged, with waits on it (one waiter at a time: a side's one producer). */
export class Credits {
  private out = 0;
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(private readonly limit: number) {}

  /** One more item was sent. */
  sent(): void {
    this.out++;
  }

  /** One sent item was acknowledged. */
  acked(): void {
    this.out--;
    this.notify();
  }

  /** Resolves once fewer than `limit` items are out (at once after close()). */
  async room(): Promise<void> {
    while (this.out >= this.limit && !this.closed) await new Promise<void>((r) => (this.wake = r));
  }

  /** Resolves once every item sent was acknowledged (at once after close()). */
  async drained(): Promise<void> {
    while (this.out > 0 && !this.closed) await new Promise<void>((r) => (this.wake = r));
  }

  /** Releases any wait, now and later: the other side is gone. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * Items that arrive by message, read in order as an async iterable: it ends
 * after end(), and throws a fail()ure once the items before it are read.
 */
export class Mailbox<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The first failure is kept; later ones are consequences of it. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.failure !== null) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
