import { DuckDbStore } from './duckdb/store.js';
import type { SnapshotStore, StoreLog } from './port.js';
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
    /** Bytes per ILP request (one transaction each). */
    requestBytes?: number;
    /** How long a flush waits on a WAL that QuestDB applies nothing of. */
    walStallMs?: number;
    /** Where outages the writes ride out and long waits for the WAL are logged. */
    log?: StoreLog;
  }
  | { kind: 'duckdb'; path: string; /** DuckDB's memory_limit, e.g. "256MB" */ memoryLimit: string; bookCacheBytes: number };

/** The store `options` name. */
export function openStore(options: StoreOptions): SnapshotStore {
  if (options.kind === 'questdb') {
    const { clientConf, log, kind: _, ...given } = options;
    // Only the limits given: the store's defaults stand for the rest.
    const limits = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    return new QuestDbStore(clientConf, limits, log);
  }
  return new DuckDbStore(options.path, options.memoryLimit, options.bookCacheBytes);
}
