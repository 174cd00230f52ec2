import { mkdirSync } from 'node:fs';
import { breather } from '../../flow.js';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  BIGINT, BOOLEAN, DOUBLE, DuckDBInstance, INTEGER, LIST, UBIGINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR,
  type DuckDBConnection, type DuckDBDataChunk, type DuckDBType, type DuckDBValue,
} from '@duckdb/node-api';
import { u64Of } from '../../u64.js';
import { mbpRecordLength } from '../../dbn/constants.js';
import type { RowBuffer } from '../../book/row-buffer.js';
import type { SnapshotBuffer } from '../../book/snapshot-buffer.js';
import type { TradeBuffer } from '../../book/trade-buffer.js';
import {
  StoreError, type MboChunk, type BboBucket, type BboQuery, type BookCacheStats, type IngestRun, type InstrumentInfo, type RangeQuery, type SnapshotStore, type StoredSnapshot, type SymbolOf,
} from '../port.js';
import { joinBuckets, spanOf } from '../bbo.js';
import { bookBucketsSql, tradeBucketsSql } from './bbo.js';
import { BookBlocks } from './book-blocks.js';
import { snapshotChunks, tradeChunks } from './chunks.js';
import { InstantIndex } from './instant-index.js';
import { OrderedRows, SELECT_SNAPSHOT, SnapshotRows, type KeyColumns } from './snapshot-rows.js';
import { MboRows, SELECT_MBO } from './mbo-rows.js';
import { MboEventBuffer } from '../../book/event-buffer.js';
import { DDL, KEYED_TABLES, mergeSql, migrationSql, overlapSql, type KeyedTable } from './schema.js';
import { checkpointChunks, mboEventChunks } from './l3-chunks.js';
import { DuckDbL3Reads } from './orders.js';
import type { CheckpointBuffer } from '../../book/checkpoint-buffer.js';

/** Read connections: DuckDB runs queries on its own threads, so reads need not queue behind one another. */
const READ_CONNECTIONS = 4;
/** book_snapshots' column types, in table order, for data chunks. */
const SNAPSHOT_TYPES: DuckDBType[] = [
  BIGINT, BIGINT, UINTEGER, USMALLINT, UINTEGER, USMALLINT, VARCHAR, VARCHAR, VARCHAR, DOUBLE, UINTEGER, UTINYINT, INTEGER,
  USMALLINT, DOUBLE, UBIGINT, DOUBLE, UBIGINT, DOUBLE, BOOLEAN, BOOLEAN,
  LIST(DOUBLE), LIST(UBIGINT), LIST(UINTEGER), LIST(DOUBLE), LIST(UBIGINT), LIST(UINTEGER),
];
/**
 * WAL size that triggers an automatic checkpoint. DuckDB's default (16MB)
 * checkpoints every few batches, and each checkpoint stalls ingestion.
 */
const CHECKPOINT_THRESHOLD = '128MB';
/** bookAt reads this many instants of a symbol at once (a block: ~0.7 MB at depth 10 with its index, as BookBlocks counts it). */
const BOOK_BLOCK_INSTANTS = 1024;
/** Rows per batch from readRange; between batches it lets the event loop turn while its read ahead is under way. */
const BATCH_ROWS = 256;
/** About this many bytes of records per chunk from readRangeMbp. */
const RECORD_CHUNK_BYTES = 64 * 1024;
/** Records per chunk from readMboRange (56 bytes each). */
const MBO_BATCH = 1024;

/** What windows() reads: a table, the query of its columns, and the columns of a result chunk. */
interface WindowSource<P extends KeyColumns> {
  table: 'book_snapshots' | 'mbo_events';
  select: string;
  rows: (chunk: DuckDBDataChunk) => P;
}
const SNAPSHOT_WINDOWS: WindowSource<SnapshotRows> = { table: 'book_snapshots', select: SELECT_SNAPSHOT, rows: (chunk) => new SnapshotRows(chunk) };
const MBO_WINDOWS: WindowSource<MboRows> = { table: 'mbo_events', select: SELECT_MBO, rows: (chunk) => new MboRows(chunk) };

/** trades' column types, in table order. */
const TRADE_TYPES: DuckDBType[] = [BIGINT, BIGINT, UINTEGER, USMALLINT, UINTEGER, USMALLINT, VARCHAR, VARCHAR, DOUBLE, UINTEGER];

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
  /**
   * Reads under way, settled or not: close() waits for them. Closing a
   * connection while a query runs on it crashes the process (a segfault in
   * DuckDB), and a replay that stops early leaves its read ahead running.
   */
  private readonly reading = new Set<Promise<void>>();
  private readonly instants = new InstantIndex((symbol) => this.loadInstants(symbol));
  private readonly books: BookBlocks;
  private readonly latest = new Map<KeyedTable, Map<number, bigint>>();
  readonly l3 = new DuckDbL3Reads((sql, params) => this.read(async (c) => (await c.runAndReadAll(sql, params)).getRowObjectsJS()));

  /**
   * `memoryLimit` is DuckDB's; `bookCacheBytes` bounds the blocks of rows
   * that bookAt keeps (BOOKTAPE_DUCKDB_BOOK_CACHE_MB).
   */
  constructor(readonly path: string, private readonly memoryLimit = '256MB', bookCacheBytes = 256 * 2 ** 20) {
    this.books = new BookBlocks((symbol, first, last) => this.readBlock(symbol, first, last), bookCacheBytes);
  }

  private async connection(): Promise<DuckDBConnection> {
    if (this.conn) return this.conn;
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.instance = await DuckDBInstance.create(this.path, { memory_limit: this.memoryLimit, checkpoint_threshold: CHECKPOINT_THRESHOLD });
      this.conn = await this.instance.connect();
      return this.conn;
    } catch (err) {
      // A hint only where DuckDB's reason calls for one: an open fails for a lock, for memory, or for a bad path.
      const reason = firstLine(err);
      const hint = LOCKED.test(reason)
        ? '. Another booktape process holds it: DuckDB allows one process per file (use QuestDB to run workers and the API separately)'
        : OUT_OF_MEMORY.test(reason) ? `. Raise BOOKTAPE_DUCKDB_MEMORY (now ${this.memoryLimit})` : '';
      throw new StoreError('STORE_UNAVAILABLE', `cannot open the DuckDB store at ${this.path}: ${reason}${hint}`);
    }
  }

  /** A connection for one read query; reads run concurrently with each other and with writes. */
  private async reader(): Promise<DuckDBConnection> {
    await this.connection();
    if (this.readers.length < READ_CONNECTIONS) this.readers.push(await this.instance!.connect());
    return this.readers[this.nextReader++ % this.readers.length];
  }

  /** Runs `fn` on the writer connection, after every write issued before it; its failures are StoreErrors. */
  private queuedWrite<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => fn(await this.connection())).catch((err: unknown) => { throw this.failure('write', err); });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs one read on a reader connection; its failures are StoreErrors.
   * Reads see what is committed and do not wait behind writes in the queue
   * (an ingest's batches, each an append and a commit).
   */
  private read<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.reader().then(fn).catch((err: unknown) => { throw this.failure('read', err); });
    const settled = run.then(() => undefined, () => undefined);
    this.reading.add(settled);
    void settled.then(() => this.reading.delete(settled));
    return run;
  }

  /**
   * A DuckDB failure as a StoreError that says what to do: STORE_BUSY when
   * the memory limit was reached (the same request can succeed under less
   * load), else STORE_READ_FAILED or STORE_WRITE_FAILED with DuckDB's reason.
   */
  private failure(op: 'read' | 'write', err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const reason = firstLine(err);
    if (OUT_OF_MEMORY.test(reason)) {
      return new StoreError(
        'STORE_BUSY',
        `the DuckDB store ran out of memory for this ${op} (limit ${this.memoryLimit}); retry when the load is lower, or raise BOOKTAPE_DUCKDB_MEMORY. DuckDB: ${reason}`,
      );
    }
    return new StoreError(op === 'read' ? 'STORE_READ_FAILED' : 'STORE_WRITE_FAILED', `DuckDB ${op} failed on ${this.path}: ${reason}`);
  }

  async init(): Promise<void> {
    await this.queuedWrite(async (c) => {
      for (const sql of DDL) await c.run(sql);
      const columns = await c.runAndReadAll(`SELECT table_name || '.' || column_name AS name, data_type FROM information_schema.columns
        WHERE table_name IN ('book_snapshots', 'stage_snapshots')`);
      const types = new Map(columns.getRowObjectsJS().map((r) => [r.name as string, r.data_type as string]));
      for (const sql of migrationSql(types)) await c.run(sql);
      // A crash between stage and merge can leave rows behind: they are re-sent on retry.
      for (const { stage } of Object.values(KEYED_TABLES)) await c.run(`DELETE FROM ${stage}`);
    });
  }

  /**
   * Writes a batch's chunks so that a key already stored is not stored again:
   * the one write path of both tables, so re-ingestion adds nothing.
   * When no stored row of the batch's instruments lies in its ts_recv range
   * (a first ingestion, or past where an earlier run stopped), no key can
   * collide and the chunks go straight into the table. Otherwise they go to
   * the staging table and an anti-join moves only the new keys on.
   */
  private write(table: KeyedTable, buf: KeyedRows, chunks: Promise<DuckDBDataChunk[]>, symbolOf: SymbolOf) {
    const { stage } = KEYED_TABLES[table];
    const { lo, hi, instruments } = batchRange(buf);
    return this.queuedWrite(async (c): Promise<{ added: number }> => {
      const latest = await this.latestTs(c, table);
      // Past every stored row of its instruments, a batch cannot collide;
      // otherwise the table says whether any stored row lies in its range.
      const past = instruments.every((id) => (latest.get(id) ?? -1n) < lo);
      const direct = past || (await c.runAndReadAll(overlapSql(table, instruments.length), [lo, hi, ...instruments])).currentRowCount === 0;
      let added = buf.length; // straight into the table: every row is new
      // One explicit transaction per batch: the appender's own commit could
      // run an automatic checkpoint (seconds) synchronously on this event
      // loop, where an async COMMIT runs it on DuckDB's threads.
      await c.run('BEGIN TRANSACTION');
      try {
        const a = await c.createAppender(direct ? table : stage);
        let appended = false;
        try {
          // The appender is synchronous: one chunk at a time, with the
          // event loop let in between, so that API requests served by this
          // process do not wait for a whole batch (flushing after every
          // chunk measured no better than this single flush).
          for (const chunk of await chunks) {
            a.appendDataChunk(chunk);
            await breather();
          }
          a.flushSync();
          appended = true;
        } finally {
          // After a failed append, closing fails too ("transaction is
          // aborted"): let the first error, the one that says why, through.
          try {
            a.closeSync();
          } catch (err) {
            if (appended) throw err;
          }
        }
        if (!direct) {
          added = (await c.run(mergeSql(table))).rowsChanged;
          await c.run(`DELETE FROM ${stage}`);
        }
        await c.run('COMMIT');
        for (const id of instruments) if ((latest.get(id) ?? -1n) < hi) latest.set(id, hi);
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      if (table === 'book_snapshots') {
        this.books.clear();
        this.instants.added(instantsBySymbol(buf as SnapshotBuffer, symbolOf, (s) => this.instants.has(s)));
      }
      return { added };
    });
  }

  /**
   * The latest stored ts_recv per instrument, per table: read once, then kept
   * by this object's writes (DuckDB lets one process hold the file). It may
   * run ahead of the table (a batch's range is counted for all its
   * instruments), never behind, so "past it" always means "no collision".
   */
  private async latestTs(c: DuckDBConnection, table: KeyedTable): Promise<Map<number, bigint>> {
    let latest = this.latest.get(table);
    if (latest === undefined) {
      const r = await c.runAndReadAll(`SELECT instrument_id, max(ts_recv) AS ts FROM ${table} GROUP BY ALL`);
      latest = new Map(r.getRowObjectsJS().map((x) => [x.instrument_id as number, x.ts as bigint]));
      this.latest.set(table, latest);
    }
    return latest;
  }

  // Chunks are built when the write is issued, not when its turn comes: a
  // caller that does not wait for the previous write (ingest) gets this
  // work done while DuckDB commits that one on its own threads.
  async writeSnapshots(buf: SnapshotBuffer, symbolOf: SymbolOf): Promise<{ added: number }> {
    if (buf.length === 0) return { added: 0 };
    return this.write('book_snapshots', buf, built(snapshotChunks(buf, SNAPSHOT_TYPES, symbolOf)), symbolOf);
  }

  async writeTrades(buf: TradeBuffer, symbolOf: SymbolOf): Promise<{ added: number }> {
    if (buf.length === 0) return { added: 0 };
    return this.write('trades', buf, built(tradeChunks(buf, TRADE_TYPES, symbolOf)), symbolOf);
  }

  async writeMboEvents(buf: MboEventBuffer, symbolOf: SymbolOf): Promise<{ added: number }> {
    if (buf.length === 0) return { added: 0 };
    return this.write('mbo_events', buf, built(mboEventChunks(buf, symbolOf)), symbolOf);
  }

  async writeCheckpoints(buf: CheckpointBuffer, symbolOf: SymbolOf): Promise<{ added: number }> {
    if (buf.length === 0) return { added: 0 };
    return this.write('order_checkpoints', buf, built(checkpointChunks(buf, symbolOf)), symbolOf);
  }

  async flush(): Promise<void> {
    await this.queuedWrite(async (c) => { await c.run('CHECKPOINT'); });
  }

  async recordRun(run: IngestRun): Promise<void> {
    await this.queuedWrite(async (c) => {
      await c.run(
        `INSERT INTO ingest_runs (run_id, source, sha256, dataset, schema, symbols, records, snapshots, trades, anomalies,
          started_at, finished_at, status, error, cost_usd, billable_bytes)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::TIMESTAMP, $12::TIMESTAMP, $13, $14, $15, $16)`,
        [
          run.runId, run.source, run.sha256, run.dataset, run.schema, JSON.stringify(run.symbols), run.records, run.snapshots,
          run.trades, JSON.stringify(run.anomalies), run.startedAt.toISOString(), run.finishedAt.toISOString(), run.status, run.error,
          run.costUsd ?? null, run.billableBytes ?? null,
        ] as DuckDBValue[],
      );
    });
  }

  async hasSucceeded(sha256: string): Promise<boolean> {
    return this.read(async (c) => {
      const r = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ingest_runs WHERE sha256 = $1 AND status = 'succeeded'`, [sha256]);
      return (r.getRowObjectsJS()[0].n as number) > 0;
    });
  }

  async hasIngested(source: string): Promise<boolean> {
    return this.read(async (c) => {
      const r = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ingest_runs WHERE source = $1 AND status = 'succeeded'`, [source]);
      return (r.getRowObjectsJS()[0].n as number) > 0;
    });
  }

  async listInstruments(): Promise<InstrumentInfo[]> {
    return this.read(async (c) => {
      const r = await c.runAndReadAll(`SELECT symbol, instrument_id, publisher_id, min(ts_recv) AS first, max(ts_recv) AS last,
        count(*)::BIGINT AS n, max(depth)::INTEGER AS depth FROM book_snapshots GROUP BY ALL ORDER BY symbol, instrument_id, publisher_id`);
      return r.getRowObjectsJS().map((x) => ({
        symbol: x.symbol as string | null,
        instrumentId: x.instrument_id as number,
        publisherId: x.publisher_id as number,
        firstTsRecv: x.first as bigint,
        lastTsRecv: x.last as bigint,
        snapshots: Number(x.n),
        depth: x.depth as number,
      }));
    });
  }

  /**
   * The instant from the in-memory index, then the row there, read with the
   * rows of its neighbouring instants (BookBlocks). With a publisher filter,
   * both steps are SQL.
   */
  async bookAt(symbol: string, at?: bigint, publisherId?: number): Promise<StoredSnapshot | null> {
    if (publisherId !== undefined) return this.bookAtPublisher(symbol, at, publisherId);
    const found = await this.instants.block(symbol, at, BOOK_BLOCK_INSTANTS);
    if (found === null) return null;
    return this.books.book(symbol, found.first, found.last, found.ts);
  }

  bookCache(): BookCacheStats {
    return this.books.stats();
  }

  private async readBlock(symbol: string, first: bigint, last: bigint): Promise<SnapshotRows[]> {
    return this.read((c) => readRows(c, `${SELECT_SNAPSHOT} WHERE symbol = $1 AND ts_recv BETWEEN $2 AND $3`, [symbol, first, last]));
  }

  private async loadInstants(symbol: string): Promise<BigInt64Array> {
    const chunks = await this.read((c) => readChunks(c, 'SELECT DISTINCT ts_recv FROM book_snapshots WHERE symbol = $1 ORDER BY ts_recv', [symbol]));
    const parts: bigint[] = [];
    for (const chunk of chunks) {
      const v = chunk.getColumnVector(0);
      for (let i = 0; i < chunk.rowCount; i++) parts.push(v.getItem(i) as bigint);
    }
    return BigInt64Array.from(parts);
  }

  private bookAtPublisher(symbol: string, at: bigint | undefined, publisherId: number): Promise<StoredSnapshot | null> {
    return this.read(async (c) => {
      // Two steps: the instant from the scalar columns only, then the one row there.
      const params: DuckDBValue[] = [symbol, at ?? 0xffffffffffffffffn, publisherId];
      const where = 'symbol = $1 AND ts_recv <= $2 AND publisher_id = $3';
      const found = await c.runAndReadAll(`SELECT max(ts_recv) AS ts FROM book_snapshots WHERE ${where}`, params);
      const ts = found.getRowObjectsJS()[0]?.ts as bigint | null;
      if (ts === null || ts === undefined) return null;
      params[1] = ts;
      const [rows] = await readRows(c, `${SELECT_SNAPSHOT} WHERE ${where.replace('ts_recv <= $2', 'ts_recv = $2')}
        ORDER BY sequence DESC, sub_sequence DESC, instrument_id DESC, publisher_id DESC LIMIT 1`, params);
      return rows?.row(0) ?? null;
    });
  }

  /**
   * Reads in ts_recv windows, each sorted by the full key: a window is a
   * bounded sort, and zone maps on ts_recv (rows land in time order) keep
   * each query to the row groups it needs. Window widths adapt to the data's
   * density to hold about `pageSize` rows, and the next window is read while
   * this one is consumed. The sort is done here (OrderedRows), not by an
   * ORDER BY: DuckDB's sort carries the level lists along and halved the read
   * rate. A window is kept as columns and its rows built a batch at a time.
   * Keyset pages (ORDER BY key LIMIT n after the last key) were tried first:
   * each page re-scanned and top-n sorted everything after it, so a long
   * replay was quadratic. A single ORDER BY cursor per replay held a full
   * sort per client and ran out of memory at 50 clients.
   */
  async *readRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<StoredSnapshot[]> {
    for await (const w of this.windows(q, signal)) {
      let batch: StoredSnapshot[] = [];
      for (let k = w.first; k < w.end && !signal?.aborted; k++) {
        batch.push(w.rows.row(k));
        if (batch.length < BATCH_ROWS) continue;
        yield batch;
        batch = [];
        // The read ahead is several asynchronous steps (prepare, execute,
        // one fetch per chunk), each taken only when the event loop turns: a
        // consumer that never waits (writes that do not fill the socket) held
        // it back until this window was used up.
        if (!w.landed()) await breather();
      }
      if (batch.length > 0 && !signal?.aborted) yield batch;
    }
  }

  /**
   * readRange's rows as MBP records written from the window's columns, with
   * no row object: chunks of whole records, about RECORD_CHUNK_BYTES each.
   */
  async *readRangeMbp(q: RangeQuery, levels: 1 | 10, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const length = mbpRecordLength(levels);
    const perChunk = Math.max(1, Math.floor(RECORD_CHUNK_BYTES / length));
    for await (const w of this.windows(q, signal)) {
      for (let k = w.first; k < w.end && !signal?.aborted; k += perChunk) {
        const n = Math.min(perChunk, w.end - k);
        const chunk = Buffer.allocUnsafe(n * length);
        const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        for (let j = 0; j < n; j++) w.rows.writeMbp(k + j, view, j * length, levels);
        yield chunk;
        if (!w.landed()) await breather();
      }
    }
  }

  countRange(q: RangeQuery): Promise<number> {
    return this.count('book_snapshots', q);
  }

  countMboRange(q: RangeQuery): Promise<number> {
    return this.count('mbo_events', q);
  }

  /**
   * Stored MBO records in key order, as their DBN records, in chunks of at
   * most BATCH_ROWS * 4 (read in windows as readRange reads snapshots).
   */
  async *readMboRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<MboChunk> {
    for await (const w of this.windows(q, signal, MBO_WINDOWS)) {
      for (let k = w.first; k < w.end && !signal?.aborted; k += MBO_BATCH) {
        const n = Math.min(MBO_BATCH, w.end - k);
        const events = new MboEventBuffer(n);
        const symbols = new Array<string | null>(n);
        for (let j = 0; j < n; j++) {
          const part = w.rows.partAt(k + j);
          const i = w.rows.indexAt(k + j);
          symbols[j] = part.symbol[i];
          part.writeRecord(i, events);
        }
        yield { events, symbols };
        if (!w.landed()) await breather();
      }
    }
  }

  /** readRange's (or readMboRange's) row count, for `table`. */
  private async count(table: 'book_snapshots' | 'mbo_events', q: RangeQuery): Promise<number> {
    const { where, params } = rangeWhere(q);
    const after = q.after === undefined ? '' : ` AND (ts_recv > $${params.length + 1} OR (ts_recv = $${params.length + 1}
      AND (instrument_id, publisher_id, sequence, sub_sequence) > ($${params.length + 2}, $${params.length + 3}, $${params.length + 4}, $${params.length + 5})))`;
    const keyParams: DuckDBValue[] = q.after === undefined ? [] : [
      q.after.tsRecv, q.after.instrumentId, q.after.publisherId, q.after.sequence, q.after.subSequence,
    ];
    const r = await this.read((c) => c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${table} WHERE ${where}${after}`, [...params, ...keyParams]));
    return Number(r.getRowObjectsJS()[0].n);
  }

  /**
   * A range's rows, window by window, in key order: each window's rows
   * [first, end) are the ones to give (those up to q.after skipped, q.limit
   * applied), and landed() says whether the next window's read is done.
   * Windows are ts_recv ranges, each sorted by the full key: a window is a
   * bounded sort, and zone maps on ts_recv (rows land in time order) keep
   * each query to the row groups it needs. Window widths adapt to the data's
   * density to hold about `pageSize` rows, and the next window is read while
   * this one is consumed. The sort is done here (OrderedRows), not by an
   * ORDER BY: DuckDB's sort carries the level lists along and halved the read
   * rate. A window is kept as columns; rows are built (or encoded) from them.
   * Keyset pages (ORDER BY key LIMIT n after the last key) were tried first:
   * each page re-scanned and top-n sorted everything after it, so a long
   * replay was quadratic. A single ORDER BY cursor per replay held a full
   * sort per client and ran out of memory at 50 clients.
   */
  private async *windows<P extends KeyColumns = SnapshotRows>(
    q: RangeQuery, signal?: AbortSignal, source: WindowSource<P> = SNAPSHOT_WINDOWS as unknown as WindowSource<P>,
  ): AsyncGenerator<{ rows: OrderedRows<P>; first: number; end: number; landed: () => boolean }> {
    const pageSize = q.pageSize ?? 4096;
    const cap = 4 * pageSize;
    let remaining = q.limit ?? Infinity;
    if (signal?.aborted) return;
    const { where, params, scopeSql, scope } = rangeWhere(q);
    const extent = await this.read((c) => c.runAndReadAll(
      `SELECT min(ts_recv) AS lo, max(ts_recv) AS hi, count(*)::BIGINT AS n FROM ${source.table} WHERE ${where}`,
      params,
    ));
    const { lo, hi, n } = extent.getRowObjectsJS()[0] as { lo: bigint | null; hi: bigint | null; n: bigint };
    if (lo === null || hi === null) return;
    const window = async (start: bigint, width: bigint): Promise<OrderedRows<P> | number> => {
      // A 1 ns window is read whole, however many rows it holds (a burst at
      // one instant cannot be split further), and sorted like any other.
      // Past the cap a wider window is retried narrower, so only its row
      // count matters.
      const whole = width === 1n;
      const limit = whole ? '' : ` LIMIT ${cap + 1}`;
      const parts = await this.read(async (c) => (await readChunks(c, `${source.select} WHERE ts_recv >= $1 AND ts_recv < $2${scopeSql}${limit}`, [
        start, minBig(start + width, hi + 1n), ...scope,
      ])).map(source.rows));
      const count = parts.reduce((sum, rows) => sum + rows.length, 0);
      return count > cap && !whole ? count : new OrderedRows(parts);
    };
    let width = maxBig(1n, ((hi - lo + 1n) * BigInt(pageSize)) / n);
    let start = lo;
    // The window read ahead while the last one is given out; null when none
    // was (the last one looked like enough for the limit, but rows skipped
    // up to q.after do not count, so the loop may still need another).
    let next: Promise<OrderedRows<P> | number> | null = window(start, width);
    while (start <= hi && remaining > 0 && !signal?.aborted) {
      const rows = await (next ?? window(start, width));
      next = null;
      if (typeof rows === 'number') {
        width = maxBig(1n, width / 8n);
        continue;
      }
      start += width;
      width = rows.length === 0 ? width * 4n : clampBig((width * BigInt(pageSize)) / BigInt(rows.length), width / 8n, width * 8n);
      let landed = true;
      if (start <= hi && remaining > rows.length) {
        landed = false;
        next = window(start, width);
        // Read ahead; a consumer that stops early leaves it unawaited.
        next.then(() => { landed = true; }, () => { landed = true; });
      }
      // Rows at q.after's instant up to it sort first in the window that holds it.
      let first = 0;
      if (q.after !== undefined) while (first < rows.length && rows.atOrBefore(first, q.after)) first++;
      const end = Math.min(rows.length, first + remaining);
      remaining -= end - first;
      if (end > first) yield { rows, first, end, landed: () => landed };
    }
  }

  async bbo(q: BboQuery): Promise<BboBucket[]> {
    const params: DuckDBValue[] = [q.symbol, q.from ?? 0n, q.to ?? 0xffffffffffffffffn, ...(q.publisherId === undefined ? [] : [q.publisherId])];
    const [books, trades] = await Promise.all([
      this.read((c) => c.runAndReadAll(bookBucketsSql(q), params)),
      this.read((c) => c.runAndReadAll(tradeBucketsSql(q), params)),
    ]);
    return joinBuckets(
      books.getRowObjectsJS().map((r) => ({
        ts: r.ts as bigint, snapshots: Number(r.n),
        bid: spanOf(r.bid_first, r.bid_last, r.bid_min, r.bid_max), ask: spanOf(r.ask_first, r.ask_last, r.ask_min, r.ask_max),
      })),
      trades.getRowObjectsJS().map((r) => ({
        ts: r.ts as bigint,
        trades: { count: Number(r.n), volume: Number(r.volume), price: spanOf(r.px_first, r.px_last, r.px_min, r.px_max) },
      })),
      q.limit,
    );
  }

  async countL3(): Promise<{ events: number; checkpointRows: number }> {
    return this.read(async (c) => {
      const r = await c.runAndReadAll('SELECT (SELECT count(*) FROM mbo_events)::BIGINT AS events, (SELECT count(*) FROM order_checkpoints)::BIGINT AS cps');
      const [{ events, cps }] = r.getRowObjectsJS() as Array<{ events: bigint; cps: bigint }>;
      return { events: Number(events), checkpointRows: Number(cps) };
    });
  }

  async countSnapshots(): Promise<number> {
    return this.read(async (c) => {
      const r = await c.runAndReadAll('SELECT count(*)::BIGINT AS n FROM book_snapshots');
      return Number(r.getRowObjectsJS()[0].n);
    });
  }

  async ping(): Promise<void> {
    await this.read(async (c) => { await c.run('SELECT 1'); });
  }

  /**
   * Whether a write would land now: the file is still at its path (an open
   * file whose directory was deleted takes writes that go nowhere) and a
   * small committed write succeeds (a full disk, a read-only or immutable
   * file fail it). It waits behind the writes queued before it.
   */
  async probeWrite(): Promise<void> {
    if (this.path !== ':memory:') {
      const found = await stat(this.path).then(() => true, () => false);
      if (!found) throw new StoreError('STORE_UNAVAILABLE', `the DuckDB file ${this.path} is gone (deleted, or its directory was): restore it and restart this process`);
    }
    await this.queuedWrite(async (c) => {
      await c.run('CREATE TABLE IF NOT EXISTS write_probe (written_at TIMESTAMP)');
      await c.run('BEGIN TRANSACTION');
      try {
        await c.run('DELETE FROM write_probe');
        await c.run('INSERT INTO write_probe VALUES (now())');
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    // Until no write is queued and no read runs: one may start another.
    for (let tail = this.queue; ; tail = this.queue) {
      await tail;
      await Promise.all(this.reading);
      if (tail === this.queue && this.reading.size === 0) break;
    }
    for (const r of this.readers) r.closeSync();
    this.readers = [];
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = null;
    this.instance = null;
  }
}

/** A query's result chunks. */
async function readChunks(c: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<DuckDBDataChunk[]> {
  const result = await c.run(sql, params);
  const chunks: DuckDBDataChunk[] = [];
  for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) chunks.push(chunk);
  return chunks;
}

/** Runs a SELECT_SNAPSHOT query: each result chunk's rows. */
async function readRows(c: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<SnapshotRows[]> {
  return (await readChunks(c, sql, params)).map((chunk) => new SnapshotRows(chunk));
}

/** DuckDB's reasons when its memory limit is reached: queries say "Out of Memory Error", the appender "could not allocate block". */
const OUT_OF_MEMORY = /^Out of Memory Error|\b(could not|failed to) (allocate|pin)\b/i;
/** DuckDB's reason when another process has the file open. */
const LOCKED = /could not set lock|conflicting lock/i;

/** An error's first line: DuckDB's messages go on with generic advice. */
function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].trim();
}

/** Lets the event loop run (I/O, timers, requests) before continuing. */

/**
 * Builds a batch's chunks one at a time, letting the event loop run between
 * them (each is ~2.5 ms of JS, measured). The promise is marked handled here and awaited
 * by the write, which may start later, behind earlier writes.
 */
function built(chunks: Iterable<DuckDBDataChunk>): Promise<DuckDBDataChunk[]> {
  const all = (async () => {
    const out: DuckDBDataChunk[] = [];
    for (const chunk of chunks) {
      out.push(chunk);
      await breather();
    }
    return out;
  })();
  all.catch(() => undefined);
  return all;
}

/**
 * A range's condition on book_snapshots: ts_recv in [from, to] (from moved
 * up to q.after's instant) and the symbols, as $1, $2, $3...
 */
function rangeWhere(q: RangeQuery): { where: string; params: DuckDBValue[]; from: bigint; scopeSql: string; scope: DuckDBValue[] } {
  const from = q.after !== undefined && q.after.tsRecv > (q.from ?? 0n) ? q.after.tsRecv : q.from ?? 0n;
  // Bound after the two ts_recv bounds, $1 and $2: the symbols, then the publisher.
  const scopeSql = (q.symbols.length > 0 ? ` AND symbol IN (${q.symbols.map((_, k) => `$${k + 3}`).join(', ')})` : '')
    + (q.publisherId === undefined ? '' : ` AND publisher_id = $${q.symbols.length + 3}`);
  const scope: DuckDBValue[] = [...q.symbols, ...(q.publisherId === undefined ? [] : [q.publisherId])];
  return { where: `ts_recv BETWEEN $1 AND $2${scopeSql}`, params: [from, q.to ?? 0xffffffffffffffffn, ...scope], from, scopeSql, scope };
}

const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
const clampBig = (x: bigint, lo: bigint, hi: bigint) => maxBig(1n, maxBig(lo, minBig(hi, x)));

/** The written rows' instants by symbol, for the symbols `wanted` says the index holds. */
function instantsBySymbol(buf: RowBuffer, symbolOf: SymbolOf, wanted: (s: string) => boolean): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  for (let i = 0; i < buf.length; i++) {
    const symbol = symbolOf(buf.instrumentId(i));
    if (symbol === null || !wanted(symbol)) continue;
    let list = out.get(symbol);
    if (list === undefined) out.set(symbol, (list = []));
    list.push(u64Of(buf.tsRecvHi(i), buf.tsRecvLo(i)));
  }
  return out;
}

/** What the keyed write path reads of a batch: its rows' instruments and ts_recv. */
interface KeyedRows {
  length: number;
  instrumentId(i: number): number;
  tsRecvHi(i: number): number;
  tsRecvLo(i: number): number;
}

/** A batch's ts_recv bounds (ns) and its distinct instrument ids. */
function batchRange(buf: KeyedRows): { lo: bigint; hi: bigint; instruments: number[] } {
  let loHi = Infinity, loLo = 0, hiHi = -1, hiLo = 0;
  const ids = new Set<number>();
  for (let i = 0; i < buf.length; i++) {
    const h = buf.tsRecvHi(i);
    const l = buf.tsRecvLo(i);
    if (h < loHi || (h === loHi && l < loLo)) { loHi = h; loLo = l; }
    if (h > hiHi || (h === hiHi && l > hiLo)) { hiHi = h; hiLo = l; }
    ids.add(buf.instrumentId(i));
  }
  return { lo: u64Of(loHi, loLo), hi: u64Of(hiHi, hiLo), instruments: [...ids] };
}
