import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  BIGINT, BOOLEAN, DOUBLE, DuckDBDataChunk, DuckDBInstance, INTEGER, LIST, UINTEGER, USMALLINT, UTINYINT, VARCHAR, listValue,
  type DuckDBAppender, type DuckDBConnection, type DuckDBListVector, type DuckDBType, type DuckDBValue, type DuckDBVector,
} from '@duckdb/node-api';
import type { SnapshotBuffer } from '../../book/snapshot-buffer.js';
import type { TradeBuffer } from '../../book/trade-buffer.js';
import { LEVEL_COLUMNS, NANOS, levelColumn, toNanos, topOfBook } from '../columns.js';
import {
  StoreError, type IngestRun, type InstrumentInfo, type RangeQuery, type SnapshotStore, type StoredSnapshot, type SymbolOf,
} from '../port.js';
import { DDL, mergeSql } from './schema.js';

const SELECT_SNAPSHOT = `SELECT ts_recv, ts_event, instrument_id, publisher_id, sequence, sub_sequence, symbol, action, side, price, size,
  flags, ts_in_delta, depth, crossed, locked, ${LEVEL_COLUMNS.join(', ')} FROM book_snapshots`;
const ORDER = 'ORDER BY ts_recv, instrument_id, publisher_id, sequence, sub_sequence';
/** Read connections: DuckDB runs queries on its own threads, so reads need not queue behind one another. */
const READ_CONNECTIONS = 4;
/** book_snapshots' column types, in table order, for data chunks. */
const SNAPSHOT_TYPES: DuckDBType[] = [
  BIGINT, BIGINT, UINTEGER, USMALLINT, UINTEGER, USMALLINT, VARCHAR, VARCHAR, VARCHAR, DOUBLE, UINTEGER, UTINYINT, INTEGER,
  USMALLINT, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, BOOLEAN, BOOLEAN, ...LEVEL_COLUMNS.map(() => LIST(DOUBLE)),
];
/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/**
 * The embedded store: one DuckDB file (default ./var/booktape.duckdb).
 * DuckDB allows one writer per file and per thread: every access goes through
 * this object, in the thread that opened it.
 */
export class DuckDbStore implements SnapshotStore {
  readonly kind = 'duckdb' as const;
  private instance: DuckDBInstance | null = null;
  private conn: DuckDBConnection | null = null;
  private readers: DuckDBConnection[] = [];
  private nextReader = 0;
  /** Serialises statements: node-api connections are not re-entrant. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string, private readonly memoryLimit = '256MB') {}

  private async connection(): Promise<DuckDBConnection> {
    if (this.conn) return this.conn;
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.instance = await DuckDBInstance.create(this.path, { memory_limit: this.memoryLimit });
      this.conn = await this.instance.connect();
      return this.conn;
    } catch (err) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `cannot open the DuckDB store at ${this.path}: ${(err as Error).message}. Another booktape process may hold it: DuckDB allows one process per file (use QuestDB to run workers and the API separately)`,
      );
    }
  }

  /** A connection for one read query; reads run concurrently with each other and with writes. */
  private async reader(): Promise<DuckDBConnection> {
    await this.connection();
    if (this.readers.length < READ_CONNECTIONS) this.readers.push(await this.instance!.connect());
    return this.readers[this.nextReader++ % this.readers.length];
  }

  private exclusive<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => fn(await this.connection()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async init(): Promise<void> {
    await this.exclusive(async (c) => {
      for (const sql of DDL) await c.run(sql);
      // A crash between stage and merge can leave rows behind: they are re-sent on retry.
      await c.run('DELETE FROM stage_snapshots');
      await c.run('DELETE FROM stage_trades');
    });
  }

  /**
   * Fills the staging table with `fill`, then moves rows whose key is new
   * into `table`: the one write path of both tables, so re-ingestion adds nothing.
   */
  private stageAndMerge(table: 'book_snapshots' | 'trades', fill: (a: DuckDBAppender) => void): Promise<void> {
    const stage = table === 'book_snapshots' ? 'stage_snapshots' : 'stage_trades';
    return this.exclusive(async (c) => {
      const a = await c.createAppender(stage);
      try {
        fill(a);
        a.flushSync();
      } finally {
        a.closeSync();
      }
      await c.run(mergeSql(table));
      await c.run(`DELETE FROM ${stage}`);
    });
  }

  async writeSnapshots(buf: SnapshotBuffer, symbolOf: SymbolOf): Promise<void> {
    if (buf.length === 0) return;
    // Columnar data chunks: list values through the row appender measured
    // ~7k rows/s, through data chunks ~24k.
    await this.stageAndMerge('book_snapshots', (a) => {
      for (let start = 0; start < buf.length; start += CHUNK_ROWS) {
        a.appendDataChunk(snapshotChunk(buf, start, Math.min(buf.length, start + CHUNK_ROWS), symbolOf));
      }
    });
  }

  async writeTrades(buf: TradeBuffer, symbolOf: SymbolOf): Promise<void> {
    if (buf.length === 0) return;
    await this.stageAndMerge('trades', (a) => {
      for (let i = 0; i < buf.length; i++) {
        a.appendBigInt((BigInt(buf.tsRecvHi[i]) << 32n) | BigInt(buf.tsRecvLo[i]));
        a.appendBigInt((BigInt(buf.tsEventHi[i]) << 32n) | BigInt(buf.tsEventLo[i]));
        a.appendUInteger(buf.instrumentId[i]);
        a.appendUSmallInt(buf.publisherId[i]);
        a.appendUInteger(buf.sequence[i]);
        a.appendUSmallInt(buf.subSequence[i]);
        appendNullable(a, symbolOf(buf.instrumentId[i]));
        a.appendVarchar(String.fromCharCode(buf.side[i]));
        appendDouble(a, buf.price[i] / NANOS);
        a.appendUInteger(buf.size[i]);
        a.endRow();
      }
    });
  }

  async flush(): Promise<void> {
    await this.exclusive(async (c) => { await c.run('CHECKPOINT'); });
  }

  async recordRun(run: IngestRun): Promise<void> {
    await this.exclusive(async (c) => {
      await c.run(
        `INSERT INTO ingest_runs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::TIMESTAMP, $12::TIMESTAMP, $13, $14)`,
        [
          run.runId, run.source, run.sha256, run.dataset, run.schema, JSON.stringify(run.symbols), run.records, run.snapshots,
          run.trades, JSON.stringify(run.anomalies), run.startedAt.toISOString(), run.finishedAt.toISOString(), run.status, run.error,
        ] as DuckDBValue[],
      );
    });
  }

  async hasSucceeded(sha256: string): Promise<boolean> {
    return this.exclusive(async (c) => {
      const r = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ingest_runs WHERE sha256 = $1 AND status = 'succeeded'`, [sha256]);
      return (r.getRowObjectsJS()[0].n as number) > 0;
    });
  }

  async listInstruments(): Promise<InstrumentInfo[]> {
    return this.exclusive(async (c) => {
      const r = await c.runAndReadAll(`SELECT symbol, instrument_id, publisher_id, min(ts_recv) AS first, max(ts_recv) AS last,
        count(*)::BIGINT AS n FROM book_snapshots GROUP BY ALL ORDER BY symbol, instrument_id, publisher_id`);
      return r.getRowObjectsJS().map((x) => ({
        symbol: x.symbol as string | null,
        instrumentId: x.instrument_id as number,
        publisherId: x.publisher_id as number,
        firstTsRecv: x.first as bigint,
        lastTsRecv: x.last as bigint,
        snapshots: Number(x.n),
      }));
    });
  }

  async bookAt(symbol: string, at?: bigint, publisherId?: number): Promise<StoredSnapshot | null> {
    const c = await this.reader();
    // Two steps: the instant from the scalar columns only, then the one row there.
    const params: DuckDBValue[] = [symbol, at ?? 0xffffffffffffffffn];
    let where = 'symbol = $1 AND ts_recv <= $2';
    if (publisherId !== undefined) { where += ' AND publisher_id = $3'; params.push(publisherId); }
    const found = await c.runAndReadAll(`SELECT max(ts_recv) AS ts FROM book_snapshots WHERE ${where}`, params);
    const ts = found.getRowObjectsJS()[0]?.ts as bigint | null;
    if (ts === null || ts === undefined) return null;
    params[1] = ts;
    const rows = await readSnapshots(c, `${SELECT_SNAPSHOT} WHERE ${where.replace('ts_recv <= $2', 'ts_recv = $2')}
      ORDER BY sequence DESC, sub_sequence DESC, instrument_id DESC, publisher_id DESC LIMIT 1`, params);
    return rows[0] ?? null;
  }

  /**
   * Keyset pages (ORDER BY key LIMIT n after the last key): each page is a
   * bounded top-n in DuckDB, and zone maps skip the row groups already read.
   * A single streamed ORDER BY cursor per replay was tried: every concurrent
   * replay then held a full sort, and 50 clients exhausted the memory limit.
   */
  async *readRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<StoredSnapshot> {
    const pageSize = q.pageSize ?? 10_000;
    let remaining = q.limit ?? Infinity;
    let after: StoredSnapshot | null = null;
    while (remaining > 0 && !signal?.aborted) {
      const params: DuckDBValue[] = [q.from ?? 0n, q.to ?? 0xffffffffffffffffn];
      const where = ['ts_recv >= $1', 'ts_recv <= $2'];
      if (q.symbols.length > 0) {
        where.push(`symbol IN (${q.symbols.map((_, k) => `$${params.length + k + 1}`).join(', ')})`);
        params.push(...q.symbols);
      }
      if (after !== null) {
        const p = params.length;
        where.push(`(ts_recv > $${p + 1} OR (ts_recv = $${p + 1} AND (instrument_id > $${p + 2} OR (instrument_id = $${p + 2} AND
          (publisher_id > $${p + 3} OR (publisher_id = $${p + 3} AND (sequence > $${p + 4} OR (sequence = $${p + 4} AND sub_sequence > $${p + 5}))))))))`);
        params.push(after.tsRecv, after.instrumentId, after.publisherId, after.sequence, after.subSequence);
      }
      const take = Math.min(pageSize, remaining);
      const rows = await readSnapshots(await this.reader(), `${SELECT_SNAPSHOT} WHERE ${where.join(' AND ')} ${ORDER} LIMIT ${take}`, params);
      for (const row of rows) {
        if (signal?.aborted) return;
        yield row;
      }
      remaining -= rows.length;
      if (rows.length < take) return;
      after = rows[rows.length - 1];
    }
  }

  async countSnapshots(): Promise<number> {
    return this.exclusive(async (c) => {
      const r = await c.runAndReadAll('SELECT count(*)::BIGINT AS n FROM book_snapshots');
      return Number(r.getRowObjectsJS()[0].n);
    });
  }

  async ping(): Promise<void> {
    await this.exclusive(async (c) => { await c.run('SELECT 1'); });
  }

  async close(): Promise<void> {
    await this.queue;
    for (const r of this.readers) r.closeSync();
    this.readers = [];
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = null;
    this.instance = null;
  }
}

function appendNullable(a: DuckDBAppender, s: string | null): void {
  if (s === null) a.appendNull();
  else a.appendVarchar(s);
}

function appendDouble(a: DuckDBAppender, x: number): void {
  if (Number.isNaN(x)) a.appendNull();
  else a.appendDouble(x);
}

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/**
 * Runs a SELECT_SNAPSHOT query and builds snapshots straight from the result
 * vectors (typed arrays underneath; list levels read from their flat child
 * vectors), instead of materialising row objects value by value.
 */
async function readSnapshots(c: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<StoredSnapshot[]> {
  const result = await c.run(sql, params);
  const out: StoredSnapshot[] = [];
  for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    chunkSnapshots(chunk, out);
  }
  return out;
}

function chunkSnapshots(chunk: DuckDBDataChunk, out: StoredSnapshot[]): void {
  {
    const col = (k: number) => chunk.getColumnVector(k) as DuckDBVector<DuckDBValue>;
    const [tsRecv, tsEvent, inst, pub, seq, sub, sym, action, side, price, size, flags, delta, depth, crossed, locked] =
      Array.from({ length: 16 }, (_, k) => col(k));
    const lists = [16, 17, 18, 19, 20, 21].map((k) => col(k) as unknown as DuckDBListVector);
    const children = lists.map((l) => l.childVector as DuckDBVector<number | null>);
    const pack = (i: number, px: number, sz: number, ct: number): number[] => {
      const packed: number[] = [];
      const n = lists[px].getEntryLength(i);
      const [op, os, oc] = [lists[px].getEntryOffset(i), lists[sz].getEntryOffset(i), lists[ct].getEntryOffset(i)];
      for (let j = 0; j < n; j++) {
        packed.push(toNanos(children[px].getItem(op + j) as number), children[sz].getItem(os + j) as number, children[ct].getItem(oc + j) as number);
      }
      return packed;
    };
    for (let i = 0; i < chunk.rowCount; i++) {
      const p = price.getItem(i) as number | null;
      out.push({
        symbol: sym.getItem(i) as string | null,
        instrumentId: inst.getItem(i) as number,
        publisherId: pub.getItem(i) as number,
        tsRecv: tsRecv.getItem(i) as bigint,
        tsEvent: tsEvent.getItem(i) as bigint,
        sequence: seq.getItem(i) as number,
        subSequence: sub.getItem(i) as number,
        action: action.getItem(i) as string,
        side: side.getItem(i) as string,
        price: p === null ? null : toNanos(p),
        size: size.getItem(i) as number,
        flags: flags.getItem(i) as number,
        tsInDelta: delta.getItem(i) as number,
        depth: depth.getItem(i) as number,
        crossed: crossed.getItem(i) as boolean,
        locked: locked.getItem(i) as boolean,
        bids: pack(i, 0, 1, 2),
        asks: pack(i, 3, 4, 5),
      });
    }
  }
}

function snapshotChunk(buf: SnapshotBuffer, start: number, end: number, symbolOf: SymbolOf): DuckDBDataChunk {
  const n = end - start;
  const cols: DuckDBValue[][] = SNAPSHOT_TYPES.map(() => new Array<DuckDBValue>(n));
  for (let r = 0, i = start; i < end; r++, i++) {
    const top = topOfBook(buf, i);
    let k = 0;
    cols[k++][r] = buf.tsRecv(i);
    cols[k++][r] = buf.tsEvent(i);
    cols[k++][r] = buf.instrumentId[i];
    cols[k++][r] = buf.publisherId[i];
    cols[k++][r] = buf.sequence[i];
    cols[k++][r] = buf.subSequence[i];
    cols[k++][r] = symbolOf(buf.instrumentId[i]);
    cols[k++][r] = String.fromCharCode(buf.action[i]);
    cols[k++][r] = String.fromCharCode(buf.side[i]);
    cols[k++][r] = orNull(buf.price[i] / NANOS);
    cols[k++][r] = buf.size[i];
    cols[k++][r] = buf.flags[i];
    cols[k++][r] = buf.tsInDelta[i];
    cols[k++][r] = buf.depth;
    cols[k++][r] = orNull(top.bidPx);
    cols[k++][r] = orNull(top.bidSz);
    cols[k++][r] = orNull(top.askPx);
    cols[k++][r] = orNull(top.askSz);
    cols[k++][r] = orNull(top.spread);
    cols[k++][r] = top.crossed;
    cols[k++][r] = top.locked;
    for (const col of LEVEL_COLUMNS) cols[k++][r] = listValue(levelColumn(buf, i, col));
  }
  const chunk = DuckDBDataChunk.create(SNAPSHOT_TYPES, n);
  chunk.setColumns(cols);
  return chunk;
}
