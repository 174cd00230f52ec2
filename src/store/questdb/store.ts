// src/store/questdb/: the QuestDB store: ILP over HTTP for writes, the PostgreSQL wire for rows, /exec for DDL and small reads.
import { SenderBufferV2, SenderOptions } from '@questdb/nodejs-client';
import type { SnapshotBuffer } from '../../book/snapshot-buffer.js';
import type { TradeBuffer } from '../../book/trade-buffer.js';
import {
  SILENT_LOG, StoreError, type StoreLog, type MboChunk, type BboBucket, type BboQuery, type IngestRun, type InstrumentInfo, type RangeQuery, type RowKey, type SnapshotStore, type StoredSnapshot, type SymbolOf,
} from '../port.js';
import { DEFAULT_LIMITS, QUEUE_WAITS, QuestDbConnection, pgOptions, type ExecResult, type QuestDbLimits } from './connection.js';
import { PgPool, type QueryClass } from './pg-pool.js';
import type { DataRow } from './pg-wire.js';
import { Conditions, type Statement } from './statement.js';
import { waitForWal, walTablesOf } from './wal.js';
import { bbo } from './bbo.js';
import { IlpRequest, appendSnapshots, appendTrades, symbolTags } from './ilp.js';
import { SNAPSHOT_SELECT, keyOfRow, mbpRowReader, nsOf, quote, snapshotOfRow } from './rows.js';
import { countKeyOrdered, keyOrderedRange, pageSqlOf } from './range.js';
import { mbpRecordLength } from '../../dbn/constants.js';
import type { MbpLevels } from '../../encode/mbp.js';
import { COL, DDL, RUNS, SNAPSHOTS, TRADES, versionProblem } from './schema.js';
import { L3_DDL, MBO_EVENTS, ORDER_CHECKPOINTS, appendCheckpoints, appendMboEvents } from './mbo.js';
import { QuestDbL3Reads } from './orders.js';
import { mboRowOf, readMboRange } from './mbo-range.js';
import type { MboEventBuffer } from '../../book/event-buffer.js';
import type { CheckpointBuffer } from '../../book/checkpoint-buffer.js';

/** Every table this store writes: their WALs are what flush waits for. */
const WRITTEN_TABLES = [SNAPSHOTS, TRADES, RUNS, MBO_EVENTS, ORDER_CHECKPOINTS].map((t) => `'${t}'`).join(', ');

export { DEFAULT_REQUEST_BYTES, execEndpoint } from './connection.js';
export { DDL } from './schema.js';

/** Rows encoded between yields to the event loop. */
const SLICE_ROWS = 256;

/** Unwritten run records kept for the next write (the oldest are dropped past it). */
const MAX_UNRECORDED = 1000;

/** Rows a book lookup reads back from its instant: more only when a burst at one ns is larger. */
const LOOKUP_ROWS = 8;

/**
 * QuestDB, the production store (docs/questdb.md).
 *
 * Writes: rows encoded as ILP v2 by ./ilp.ts and POSTed by the official
 * client's transport, a batch as requests of about DEFAULT_REQUEST_BYTES
 * (the next one encoded while the previous is in flight, so the event loop is
 * never held for a whole batch). Snapshot rows (lookups, range pages) and
 * MBO ranges are read over the PostgreSQL wire in binary, decoded as they
 * arrive (./pg-wire.ts; DBN replays written as records straight off it),
 * through a bounded pool where lookups go before stream pages
 * (./pg-pool.ts), ranges paged by ./range.ts; DDL, the WAL's state, counts,
 * L3 lookups and small aggregates go through /exec. Every call is under a
 * deadline.
 *
 * Every query reads the designated timestamp as an interval or in its own
 * order (see the plans in test/store/questdb.test.ts): a lookup is a
 * backward scan from its instant, a range page a forward scan from its start.
 * Ties at one ns are ordered by the key here, not by the server.
 */
export class QuestDbStore implements SnapshotStore {
  readonly kind = 'questdb' as const;
  private writing: Promise<void> = Promise.resolve();
  private readonly db: QuestDbConnection;
  private readonly pg: PgPool;
  /** Table ids seen at init: a different id at flush means a table was dropped and recreated under this writer. */
  private tableIds = new Map<string, number>();
  /** Runs whose record failed to write, oldest first: written with the next one. */
  private unrecorded: IngestRun[] = [];

  readonly l3: QuestDbL3Reads;

  constructor(conf: string, limits: Partial<QuestDbLimits> = {}, private readonly log: StoreLog = SILENT_LOG) {
    const l = { ...DEFAULT_LIMITS, ...limits };
    this.db = new QuestDbConnection(conf, l, log);
    this.l3 = new QuestDbL3Reads((sql) => this.rows(sql));
    this.pg = new PgPool(pgOptions(conf, l.pgAddr, l.timeoutMs), { connections: l.readConnections, timeoutMs: l.timeoutMs, queueMs: QUEUE_WAITS * l.timeoutMs });
  }

  /** A statement's rows over the PostgreSQL wire, each decoded as it arrives. */
  private async decoded<R>(stmt: Statement, decode: (row: DataRow) => R, cls: QueryClass, signal?: AbortSignal): Promise<R[]> {
    const out: R[] = [];
    await this.pg.query(stmt, (row) => { out.push(decode(row)); }, cls, signal);
    return out;
  }

  /** Snapshot rows of a SNAPSHOT_SELECT statement. */
  private snapshots(stmt: Statement, cls: QueryClass, signal?: AbortSignal): Promise<StoredSnapshot[]> {
    return this.decoded(stmt, snapshotOfRow, cls, signal);
  }

  exec(sql: string, signal?: AbortSignal): Promise<ExecResult> {
    return this.db.exec(sql, signal);
  }

  private async rows(sql: string, signal?: AbortSignal): Promise<unknown[][]> {
    return (await this.db.exec(sql, signal)).dataset ?? [];
  }

  async init(): Promise<void> {
    const [[build]] = await this.rows('SELECT build()');
    const problem = versionProblem(String(build));
    if (problem !== null) throw new StoreError('STORE_UNAVAILABLE', problem);
    for (const sql of [...DDL, ...L3_DDL]) await this.db.exec(sql);
    const ttl = this.db.limits.ttlDays;
    // QuestDB drops a whole partition once it is older than this before the table's newest row (capped at the wall clock).
    if (ttl !== undefined) for (const table of [SNAPSHOTS, TRADES]) await this.db.exec(`ALTER TABLE ${table} SET TTL ${ttl} DAYS`);
    this.tableIds = await this.readTableIds();
    await this.db.renewWriter();
  }

  private async readTableIds(): Promise<Map<string, number>> {
    const rows = await this.rows(`SELECT table_name, id FROM tables() WHERE table_name IN (${WRITTEN_TABLES})`);
    return new Map(rows.map(([name, id]) => [name as string, id as number]));
  }

  /** Runs writes one at a time in call order: they share one connection. */
  private serially(fn: () => Promise<void>): Promise<void> {
    const run = this.writing.then(fn);
    this.writing = run.catch(() => undefined);
    return run;
  }

  writeSnapshots(buf: SnapshotBuffer, symbolOf: SymbolOf): Promise<void> {
    const tags = symbolTags(symbolOf);
    return this.serially(() => this.send(buf.length, (req, from, n) => appendSnapshots(req, buf, from, n, tags)));
  }

  writeTrades(buf: TradeBuffer, symbolOf: SymbolOf): Promise<void> {
    const tags = symbolTags(symbolOf);
    return this.serially(() => this.send(buf.length, (req, from, n) => appendTrades(req, buf, from, n, tags)));
  }

  writeMboEvents(buf: MboEventBuffer, symbolOf: SymbolOf): Promise<void> {
    const tags = symbolTags(symbolOf);
    return this.serially(() => this.send(buf.length, (req, from, n) => appendMboEvents(req, buf, from, n, tags)));
  }

  writeCheckpoints(buf: CheckpointBuffer, symbolOf: SymbolOf): Promise<void> {
    const tags = symbolTags(symbolOf);
    return this.serially(() => this.send(buf.length, (req, from, n) => appendCheckpoints(req, buf, from, n, tags)));
  }

  /**
   * Sends rows as requests of about requestBytes, encoding the next while the
   * previous one is in flight, and yielding to the event loop every
   * SLICE_ROWS rows (a request's rows are not encoded in one go).
   */
  private async send(length: number, append: (req: IlpRequest, from: number, maxRows: number) => number): Promise<void> {
    let from = 0;
    let inFlight: Promise<void> | null = null;
    const dispatch = async (req: IlpRequest) => {
      if (inFlight) await inFlight;
      inFlight = this.db.write(req.bytes);
      // A request's failure surfaces at the next await; none is left unobserved.
      inFlight.catch(() => undefined);
    };
    try {
      let req = new IlpRequest(this.db.limits.requestBytes);
      while (from < length) {
        const n = append(req, from, SLICE_ROWS);
        from += n;
        if (n < SLICE_ROWS && from < length) {
          await dispatch(req);
          req = new IlpRequest(this.db.limits.requestBytes);
        } else if (from < length) await new Promise((res) => setImmediate(res));
      }
      if (req.p > 0) await dispatch(req);
      if (inFlight) await inFlight;
    } catch (err) {
      await (inFlight as Promise<void> | null)?.catch(() => undefined);
      throw err;
    }
  }

  /**
   * Waits until every write so far is applied (the WAL of each table), so
   * reads see them, for as long as QuestDB makes progress (./wal.ts), and
   * checks no table was dropped and recreated since init (a write may have
   * been lost to it: the caller re-runs).
   */
  async flush(): Promise<void> {
    await this.writing;
    // The wait rides out a QuestDB restart; the check after it then meets a server that answers.
    const walTables = async () => walTablesOf(await this.db.exec(`SELECT * FROM wal_tables() WHERE name IN (${WRITTEN_TABLES})`));
    await waitForWal(walTables, this.db.base, { stallMs: this.db.limits.walStallMs, outageMs: this.db.retryTimeoutMs, log: this.log });
    const ids = await this.readTableIds();
    for (const [name, id] of this.tableIds) {
      if (ids.get(name) !== id) {
        this.tableIds = ids;
        await this.db.renewWriter();
        throw new StoreError('STORE_UNAVAILABLE', `QuestDB table ${name} was dropped or recreated while this process wrote to it: rows written since may be lost; run the ingest again`);
      }
    }
  }

  /**
   * Records a run. A run that cannot be recorded now (the store is what
   * failed) is kept and written with the next run recorded by this process,
   * so a failed attempt still shows in ingest_runs once QuestDB is back.
   */
  async recordRun(run: IngestRun): Promise<void> {
    this.unrecorded.push(run);
    if (this.unrecorded.length > MAX_UNRECORDED) this.unrecorded.shift();
    const runs = this.unrecorded.slice();
    // The official client's own buffer: a few rows, not a hot path.
    const s = new SenderBufferV2(new SenderOptions('http::addr=localhost;protocol_version=2;'));
    for (const r of runs) {
      s.table(RUNS).symbol('run_id', r.runId).symbol('dataset', r.dataset || '-').symbol('schema', r.schema || '-').symbol('status', r.status);
      if (r.sha256) s.symbol('sha256', r.sha256);
      s.stringColumn('source', r.source).stringColumn('symbols', JSON.stringify(r.symbols))
        .intColumn('records', r.records).intColumn('snapshots', r.snapshots).intColumn('trades', r.trades)
        .stringColumn('anomalies', JSON.stringify(r.anomalies)).timestampColumn('started_at', r.startedAt.getTime(), 'ms');
      if (r.error) s.stringColumn('error', r.error);
      if (r.costUsd !== undefined) s.floatColumn('cost_usd', r.costUsd);
      if (r.billableBytes !== undefined) s.intColumn('billable_bytes', r.billableBytes);
      s.at(r.finishedAt.getTime(), 'ms');
    }
    await this.serially(() => this.db.write(Buffer.from(s.toBufferView())));
    this.unrecorded = this.unrecorded.filter((r) => !runs.includes(r));
  }

  async hasSucceeded(sha256: string): Promise<boolean> {
    const rows = await this.rows(`SELECT count() FROM ${RUNS} WHERE sha256 = '${sha256.replace(/[^0-9a-f]/g, '')}' AND status = 'succeeded'`);
    return Number(rows[0]?.[0] ?? 0) > 0;
  }

  async hasIngested(source: string): Promise<boolean> {
    const rows = await this.rows(`SELECT count() FROM ${RUNS} WHERE source = ${quote(source)} AND status = 'succeeded'`);
    return Number(rows[0]?.[0] ?? 0) > 0;
  }

  async listInstruments(): Promise<InstrumentInfo[]> {
    const rows = await this.rows(`SELECT ${COL.symbol}, ${COL.instrumentId}, ${COL.publisherId}, min(${COL.tsRecv}), max(${COL.tsRecv}), count(), max(${COL.depth})
      FROM ${SNAPSHOTS} ORDER BY 1, 2, 3`);
    return rows.map((r) => ({
      symbol: (r[0] as string | null) ?? null,
      instrumentId: Number(r[1]),
      publisherId: Number(r[2]),
      firstTsRecv: nsOf(r[3] as string),
      lastTsRecv: nsOf(r[4] as string),
      snapshots: Number(r[5]),
      depth: Number(r[6]),
    }));
  }

  /** The latest `limit` rows of a symbol at or before `at`: a backward scan of the designated timestamp from `at`. */
  static lookupSql(symbol: string, at: bigint | undefined, publisherId: number | undefined, limit: number): Statement {
    const where = new Conditions().compare(COL.symbol, '=', symbol);
    if (at !== undefined) where.at(COL.tsRecv, '<=', at);
    if (publisherId !== undefined) where.compare(COL.publisherId, '=', Math.trunc(publisherId));
    return { sql: `SELECT ${SNAPSHOT_SELECT} FROM ${SNAPSHOTS}${where} ORDER BY ${COL.tsRecv} DESC LIMIT ${limit}`, params: where.params };
  }

  /** Every row of a symbol at one instant (an interval of one ns). */
  static instantSql(symbol: string, at: bigint, publisherId: number | undefined): Statement {
    const where = new Conditions().compare(COL.symbol, '=', symbol).at(COL.tsRecv, '=', at);
    if (publisherId !== undefined) where.compare(COL.publisherId, '=', Math.trunc(publisherId));
    return { sql: `SELECT ${SNAPSHOT_SELECT} FROM ${SNAPSHOTS}${where}`, params: where.params };
  }

  /** A statement's plan, as QuestDB's EXPLAIN prints it (its parameters bound). */
  async plan(stmt: Statement): Promise<string> {
    const lines: string[] = [];
    await this.pg.query({ sql: `EXPLAIN ${stmt.sql}`, params: stmt.params }, (row) => { lines.push(row.text(0)); }, 'short');
    return lines.join('\n');
  }

  async bookAt(symbol: string, at?: bigint, publisherId?: number): Promise<StoredSnapshot | null> {
    const read = await this.latestOfInstant(QuestDbStore.lookupSql(symbol, at, publisherId, LOOKUP_ROWS));
    // Every row read shares the latest instant: there may be more of them.
    if (read.atInstant === LOOKUP_ROWS) return (await this.latestOfInstant(QuestDbStore.instantSql(symbol, read.best!.tsRecv, publisherId))).best;
    return read.best;
  }

  /**
   * Of a statement's rows, those at its first row's instant: how many, and
   * the last of them in key order (sequence, sub_sequence, instrument,
   * publisher), the book there. Only that row is decoded: a lookup's other
   * rows are read as far as their key.
   */
  private async latestOfInstant(stmt: Statement): Promise<{ best: StoredSnapshot | null; atInstant: number }> {
    let best: StoredSnapshot | null = null;
    let atInstant = 0;
    await this.pg.query(stmt, (row) => {
      if (best !== null && row.int64(0) !== best.tsRecv) return;
      atInstant++;
      if (best === null || laterAtInstant(keyOfRow(row), best)) best = snapshotOfRow(row);
    }, 'short');
    return { best, atInstant };
  }

  /** A range page: a forward scan of the designated timestamp from its start, at most `limit` rows. */
  static readonly pageSql = pageSqlOf(SNAPSHOTS, SNAPSHOT_SELECT);

  /** Snapshots in key order, page by page (./range.ts). */
  readRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<StoredSnapshot[]> {
    return keyOrderedRange(q, QuestDbStore.pageSql, (stmt) => this.snapshots(stmt, 'stream', signal), signal);
  }

  /**
   * readRange's rows as MBP records, written as each row comes off the wire
   * (no snapshot object kept per row): chunks of whole records, one per
   * batch of rows.
   */
  async *readRangeMbp(q: RangeQuery, levels: MbpLevels, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const length = mbpRecordLength(levels);
    const read = (stmt: Statement) => this.decoded(stmt, mbpRowReader(levels), 'stream', signal);
    for await (const batch of keyOrderedRange(q, QuestDbStore.pageSql, read, signal)) {
      const chunk = Buffer.allocUnsafe(batch.length * length);
      for (let i = 0; i < batch.length; i++) batch[i].block.copy(chunk, i * length, batch[i].offset, batch[i].offset + length);
      yield chunk;
    }
  }

  bbo(q: BboQuery): Promise<BboBucket[]> { return bbo((sql) => this.rows(sql), q); }

  countRange(q: RangeQuery): Promise<number> {
    return countKeyOrdered((sql) => this.rows(sql), SNAPSHOTS, q);
  }

  readMboRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<MboChunk> {
    return readMboRange((stmt) => this.decoded(stmt, mboRowOf, 'stream', signal), q, signal);
  }

  countMboRange(q: RangeQuery): Promise<number> {
    return countKeyOrdered((sql) => this.rows(sql), MBO_EVENTS, q);
  }

  async countL3(): Promise<{ events: number; checkpointRows: number }> {
    const [[events]] = await this.rows(`SELECT count() FROM ${MBO_EVENTS}`);
    const [[checkpointRows]] = await this.rows(`SELECT count() FROM ${ORDER_CHECKPOINTS}`);
    return { events: Number(events), checkpointRows: Number(checkpointRows) };
  }

  async countSnapshots(): Promise<number> {
    const rows = await this.rows(`SELECT count() FROM ${SNAPSHOTS}`);
    return Number(rows[0]?.[0] ?? 0);
  }

  async ping(): Promise<void> {
    await this.db.exec('SELECT 1');
  }

  async close(): Promise<void> {
    await this.writing;
    await Promise.all([this.db.close(), this.pg.close()]);
  }
}

/** Whether a is later than b among rows at one instant: by sequence, sub_sequence, instrument, publisher. */
function laterAtInstant(a: RowKey, b: RowKey): boolean {
  return (a.sequence - b.sequence || a.subSequence - b.subSequence || a.instrumentId - b.instrumentId || a.publisherId - b.publisherId) > 0;
}

