import { StoreError } from '../port.js';
import { PgConnection, PgError, type PgOptions, type RowSink } from './pg-wire.js';
import type { Statement } from './statement.js';

/**
 * Who a query is for. A lookup (a book at an instant, a count) is short and
 * a person or a chart waits on it; a stream page is one of many that a
 * replay or an export reads back to back. Short queries go first, and
 * stream pages never hold every connection: a replay cannot starve a lookup.
 */
export type QueryClass = 'short' | 'stream';

export interface PgPoolLimits {
  /** Connections in all. */
  connections: number;
  /** Each query's deadline once sent. */
  timeoutMs: number;
  /** How long a query may wait for a connection before it is refused STORE_BUSY. */
  queueMs: number;
}

interface Waiter {
  /** Called once a slot is counted for the waiter (or the pool closed). */
  grant: () => void;
}

/**
 * A bounded set of PostgreSQL-wire connections to one QuestDB, opened as
 * needed and kept while they work. A connection that failed, timed out or
 * was cancelled mid-query is dropped; the next query opens another.
 */
export class PgPool {
  private readonly idle: PgConnection[] = [];
  /** Connections lent out or being opened, by class. */
  private readonly lent = { short: 0, stream: 0 };
  private readonly waiting: Record<QueryClass, Waiter[]> = { short: [], stream: [] };
  private closed = false;

  constructor(private readonly options: PgOptions, readonly limits: PgPoolLimits) {}

  /** Stream pages may hold all but these, so lookups always find a connection soon. */
  private get reserved(): number {
    return Math.max(1, Math.floor(this.limits.connections / 4));
  }

  private mayLend(cls: QueryClass): boolean {
    const total = this.lent.short + this.lent.stream;
    if (total >= this.limits.connections) return false;
    return cls === 'short' || this.lent.stream < this.limits.connections - this.reserved;
  }

  /** Runs one statement on a pooled connection; rows go to `sink` as they arrive. */
  async query(stmt: Statement, sink: RowSink, cls: QueryClass, signal?: AbortSignal): Promise<number> {
    const conn = await this.take(cls, signal);
    try {
      return await conn.query(stmt.sql, sink, this.limits.timeoutMs, signal, stmt.params);
    } catch (err) {
      throw this.storeError(err);
    } finally {
      this.give(conn, cls);
    }
  }

  private async take(cls: QueryClass, signal?: AbortSignal): Promise<PgConnection> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'the store is closed');
    if (!this.mayLend(cls)) {
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          grant: () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const leave = (err: StoreError) => {
          const queue = this.waiting[cls];
          const k = queue.indexOf(waiter);
          if (k >= 0) queue.splice(k, 1);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        };
        const onAbort = () => leave(new StoreError('STORE_UNAVAILABLE', 'the read was cancelled'));
        const timer = setTimeout(() => leave(new StoreError('STORE_BUSY',
          `QuestDB queries queued for over ${this.limits.queueMs} ms behind ${this.limits.connections} running: too many at once`)), this.limits.queueMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting[cls].push(waiter);
      });
      // A slot was counted for this class by release(), unless the pool closed meanwhile.
      if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'the store is closed');
    } else this.lent[cls]++;
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (c.usable) return c;
    }
    try {
      return await PgConnection.connect(this.options);
    } catch (err) {
      this.release(cls);
      throw this.storeError(err);
    }
  }

  private give(conn: PgConnection, cls: QueryClass): void {
    if (conn.usable && !this.closed) this.idle.push(conn);
    else conn.destroy();
    this.release(cls);
  }

  /** A slot is free: the longest-waiting short query takes it, else a stream page if streams may hold another. */
  private release(cls: QueryClass): void {
    this.lent[cls]--;
    for (const next of ['short', 'stream'] as const) {
      if (this.waiting[next].length > 0 && this.mayLend(next)) {
        this.lent[next]++;
        const w = this.waiting[next].shift()!;
        // The waiter reuses or opens a connection itself (take() goes on past the wait).
        w.grant();
        return;
      }
    }
  }

  private storeError(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const where = `QuestDB at ${this.options.host}:${this.options.port} (PostgreSQL wire)`;
    if (err instanceof PgError) {
      if (err.kind === 'rejected') return new StoreError('STORE_READ_FAILED', `QuestDB rejected a query: ${err.message}`);
      if (err.kind === 'timeout') return new StoreError('STORE_UNAVAILABLE', `${where} did not answer within ${this.limits.timeoutMs} ms`);
      if (err.kind === 'cancelled') return new StoreError('STORE_UNAVAILABLE', 'the read was cancelled');
      return new StoreError('STORE_UNAVAILABLE', `${where} did not answer: ${err.message}`);
    }
    return new StoreError('STORE_UNAVAILABLE', `${where}: ${(err as Error).message}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const cls of ['short', 'stream'] as const) for (const w of this.waiting[cls].splice(0)) w.grant();
    await Promise.all(this.idle.splice(0).map((c) => c.close()));
  }
}
