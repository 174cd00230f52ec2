/**
 * What the tests read of ingest_runs, in each store's own SQL (as an
 * operator would), and a store whose snapshot writes fail on cue.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { QuestDbStore } from '../../src/store/questdb/store.js';
import { StoreError, type SnapshotStore } from '../../src/store/port.js';

export interface RunRow {
  run_id: string;
  status: string;
  source: string;
  symbols: string;
  records: number;
  snapshots: number;
  trades: number;
  error: string | null;
  started_at: string;
  finished_at: string;
}

const COLUMNS = 'run_id, status, source, symbols, records, snapshots, trades, error, started_at, finished_at';

/** ingest_runs of a DuckDB file no process holds open, oldest first. */
export async function duckdbRuns(path: string): Promise<RunRow[]> {
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  try {
    const rows = (await c.runAndReadAll(`SELECT ${COLUMNS} FROM ingest_runs ORDER BY finished_at, started_at`)).getRowObjectsJS();
    return rows.map((r) => ({ ...r, records: Number(r.records), snapshots: Number(r.snapshots), trades: Number(r.trades), started_at: String(r.started_at), finished_at: String(r.finished_at) }) as RunRow);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** ingest_runs of a QuestDB store, oldest first (written rows: flush first). */
export async function questdbRuns(store: QuestDbStore): Promise<RunRow[]> {
  const { columns, dataset } = await store.exec(`SELECT ${COLUMNS} FROM ingest_runs ORDER BY finished_at, started_at`);
  return dataset.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]])) as unknown as RunRow);
}

/**
 * The real store, but its writeSnapshots fails (STORE_WRITE_FAILED) on the
 * calls `failing` says (counted from 1); every other method is the store's
 * own, bound to it.
 */
export function failingWrites(store: SnapshotStore, failing: (call: number) => boolean): SnapshotStore {
  let calls = 0;
  let previous: Promise<unknown> = Promise.resolve();
  const writeSnapshots: SnapshotStore['writeSnapshots'] = (...args) => {
    // As the port says, writes settle in call order: a failure comes after the writes before it.
    const write = failing(++calls)
      ? previous.then(() => { throw new StoreError('STORE_WRITE_FAILED', 'injected failure'); })
      : store.writeSnapshots(...args);
    previous = write.catch(() => undefined);
    return write;
  };
  return new Proxy(store, {
    get: (target, key) => {
      if (key === 'writeSnapshots') return writeSnapshots;
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
