import { DuckDbStore } from './duckdb/store.js';
import type { SnapshotStore } from './port.js';
import { QuestDbStore } from './questdb/store.js';

export * from './port.js';

/** Which store, and its own settings. */
export type StoreOptions =
  | {
    kind: 'questdb';
    /** ILP-over-HTTP client configuration, e.g. "http::addr=localhost:9000;" */
    clientConf: string;
    /** Deadline of each call, queueing included, and concurrent queries (docs/questdb.md). */
    timeoutMs?: number;
    readConnections?: number;
    /** QuestDB's PostgreSQL-wire host:port; default the HTTP host, port 8812. */
    pgAddr?: string;
    /** Days QuestDB keeps (its TTL); undefined leaves the tables' TTL as it is. */
    ttlDays?: number;
  }
  | { kind: 'duckdb'; path: string; /** DuckDB's memory_limit, e.g. "256MB" */ memoryLimit: string; bookCacheBytes: number };

/** The store `options` name. */
export function openStore(options: StoreOptions): SnapshotStore {
  if (options.kind === 'questdb') {
    const limits = {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.readConnections !== undefined ? { readConnections: options.readConnections } : {}),
      ...(options.pgAddr !== undefined ? { pgAddr: options.pgAddr } : {}),
      ...(options.ttlDays !== undefined ? { ttlDays: options.ttlDays } : {}),
    };
    return new QuestDbStore(options.clientConf, limits);
  }
  return new DuckDbStore(options.path, options.memoryLimit, options.bookCacheBytes);
}
