// src/store/questdb/: the QuestDB store: ILP over HTTP for writes, /exec for reads and DDL.
import { Sender } from '@questdb/nodejs-client';
import { u64Of } from '../../u64.js';
import type { RowBuffer } from '../../book/row-buffer.js';
import type { LevelField, SnapshotBuffer } from '../../book/snapshot-buffer.js';
import type { TradeBuffer } from '../../book/trade-buffer.js';
import { LEVEL_COLUMNS, NANOS, levelColumn, toNanos, topOfBook } from '../columns.js';
import { StoreError, type IngestRun, type InstrumentInfo, type RangeQuery, type SnapshotStore, type StoredSnapshot, type SymbolOf } from '../port.js';

/**
 * QuestDB, the production store. Writes: ILP over HTTP with
 * @questdb/nodejs-client, auto-flush off and one explicit flush per batch (one
 * HTTP request = one transaction; the client retries transient failures for
 * retry_timeout). Reads and DDL: the HTTP /exec endpoint of the same server.
 *
 * Timestamps: the designated `ts_recv` is a TIMESTAMP (µs); the sub-µs
 * remainder is kept in `ts_recv_nanos` (0..999) so nanoseconds round-trip
 * exactly (the ILP client's integers are JS numbers, too small for u64 ns).
 * DEDUP UPSERT KEYS make re-ingestion leave exactly one row per snapshot.
 */
export const DDL = [
  `CREATE TABLE IF NOT EXISTS book_snapshots (
    ts_recv TIMESTAMP, ts_recv_nanos INT, ts_event TIMESTAMP, ts_event_nanos INT,
    symbol SYMBOL, instrument_id LONG, publisher_id INT, sequence LONG, sub_sequence INT,
    action SYMBOL, side SYMBOL, price DOUBLE, size LONG, flags INT, ts_in_delta INT, depth INT,
    best_bid_px DOUBLE, best_bid_sz DOUBLE, best_ask_px DOUBLE, best_ask_sz DOUBLE, spread DOUBLE,
    crossed BOOLEAN, locked BOOLEAN,
    bid_px DOUBLE[], bid_sz DOUBLE[], bid_ct DOUBLE[], ask_px DOUBLE[], ask_sz DOUBLE[], ask_ct DOUBLE[]
  ) TIMESTAMP(ts_recv) PARTITION BY DAY WAL
  DEDUP UPSERT KEYS(ts_recv, ts_recv_nanos, instrument_id, publisher_id, sequence, sub_sequence)`,
  `CREATE TABLE IF NOT EXISTS trades (
    ts_recv TIMESTAMP, ts_recv_nanos INT, ts_event TIMESTAMP, ts_event_nanos INT,
    symbol SYMBOL, instrument_id LONG, publisher_id INT, sequence LONG, sub_sequence INT, side SYMBOL, price DOUBLE, size LONG
  ) TIMESTAMP(ts_recv) PARTITION BY DAY WAL
  DEDUP UPSERT KEYS(ts_recv, ts_recv_nanos, instrument_id, publisher_id, sequence, sub_sequence)`,
  `CREATE TABLE IF NOT EXISTS ingest_runs (
    finished_at TIMESTAMP, run_id SYMBOL, source STRING, sha256 SYMBOL, dataset SYMBOL, schema SYMBOL, symbols STRING,
    records LONG, snapshots LONG, trades LONG, anomalies STRING, started_at TIMESTAMP, status SYMBOL, error STRING
  ) TIMESTAMP(finished_at) PARTITION BY MONTH WAL`,
];

const SELECT_SNAPSHOT = `SELECT cast(ts_recv AS LONG) ts_recv_us, ts_recv_nanos, cast(ts_event AS LONG) ts_event_us, ts_event_nanos,
  instrument_id, publisher_id, sequence, sub_sequence, symbol, action, side, price, size, flags, ts_in_delta, depth, crossed, locked,
  ${LEVEL_COLUMNS.join(', ')} FROM book_snapshots`;

interface ExecResult {
  columns: Array<{ name: string; type: string }>;
  dataset: unknown[][];
}

/** Reads the HTTP address and credentials out of an ILP client configuration string. */
export function execEndpoint(conf: string): { base: string; headers: Record<string, string> } {
  const m = /^(https?)::(.*)$/.exec(conf.trim());
  if (m === null) throw new StoreError('STORE_UNAVAILABLE', `QDB_CLIENT_CONF must use http:: or https:: (ILP over HTTP), got "${conf}"`);
  const opts = new Map<string, string>();
  for (const part of m[2].split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) opts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const addr = opts.get('addr');
  if (!addr) throw new StoreError('STORE_UNAVAILABLE', 'QDB_CLIENT_CONF has no addr=host:port');
  const headers: Record<string, string> = {};
  if (opts.has('username') && opts.has('password')) {
    headers.authorization = `Basic ${Buffer.from(`${opts.get('username')}:${opts.get('password')}`).toString('base64')}`;
  } else if (opts.has('token')) headers.authorization = `Bearer ${opts.get('token')}`;
  return { base: `${m[1]}://${addr.includes(':') ? addr : `${addr}:9000`}`, headers };
}

const splitNs = (hi: number, lo: number): [bigint, number] => {
  const ns = u64Of(hi, lo);
  return [ns, Number(ns % 1000n)];
};

/**
 * Starts row i of `table` with its key columns (symbols first, as ILP
 * requires); returns ts_recv in ns for the row's `at()`.
 */
function rowKey(s: Sender, table: string, buf: RowBuffer, i: number, symbolOf: SymbolOf, symbols: Record<string, string>): bigint {
  const [recv, recvNanos] = splitNs(buf.tsRecvHi(i), buf.tsRecvLo(i));
  const [event, eventNanos] = splitNs(buf.tsEventHi(i), buf.tsEventLo(i));
  s.table(table);
  const sym = symbolOf(buf.instrumentId(i));
  if (sym !== null) s.symbol('symbol', sym);
  for (const [k, v] of Object.entries(symbols)) s.symbol(k, v);
  s.intColumn('ts_recv_nanos', recvNanos).timestampColumn('ts_event', event, 'ns').intColumn('ts_event_nanos', eventNanos);
  s.intColumn('instrument_id', buf.instrumentId(i)).intColumn('publisher_id', buf.publisherId(i));
  s.intColumn('sequence', buf.sequence(i)).intColumn('sub_sequence', buf.subSequence(i));
  return recv;
}

export class QuestDbStore implements SnapshotStore {
  readonly kind = 'questdb' as const;
  private sender: Sender | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly endpoint: { base: string; headers: Record<string, string> };

  constructor(private readonly conf: string) {
    this.endpoint = execEndpoint(conf);
  }

  private async ilp(): Promise<Sender> {
    if (this.sender === null) {
      const conf = this.conf.trim().replace(/;?$/, ';');
      this.sender = await Sender.fromConfig(`${conf}auto_flush=off;`);
    }
    return this.sender;
  }

  async exec(sql: string): Promise<ExecResult> {
    let res: Response;
    try {
      res = await fetch(`${this.endpoint.base}/exec?query=${encodeURIComponent(sql)}`, { headers: this.endpoint.headers });
    } catch (err) {
      throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.endpoint.base} did not answer: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as ExecResult & { error?: string };
    if (!res.ok || body.error) throw new StoreError('STORE_READ_FAILED', `QuestDB rejected a query: ${body.error ?? res.status}`);
    return body;
  }

  private async rows(sql: string): Promise<Array<Record<string, unknown>>> {
    const r = await this.exec(sql);
    return (r.dataset ?? []).map((row) => Object.fromEntries(r.columns.map((c, k) => [c.name, row[k]])));
  }

  async init(): Promise<void> {
    for (const sql of DDL) await this.exec(sql);
  }

  /** Runs writes one at a time in call order: they share one sender and its buffer. */
  private serially(fn: () => Promise<void>): Promise<void> {
    const run = this.writing.then(fn);
    this.writing = run.catch(() => undefined);
    return run;
  }

  writeSnapshots(buf: SnapshotBuffer, symbolOf: SymbolOf): Promise<void> {
    return this.serially(() => this.sendSnapshots(buf, symbolOf));
  }

  writeTrades(buf: TradeBuffer, symbolOf: SymbolOf): Promise<void> {
    return this.serially(() => this.sendTrades(buf, symbolOf));
  }

  private async sendSnapshots(buf: SnapshotBuffer, symbolOf: SymbolOf): Promise<void> {
    if (buf.length === 0) return;
    const s = await this.ilp();
    for (let i = 0; i < buf.length; i++) {
      const top = topOfBook(buf, i);
      const recv = rowKey(s, 'book_snapshots', buf, i, symbolOf, {
        action: String.fromCharCode(buf.action(i)),
        side: String.fromCharCode(buf.side(i)),
      });
      if (!Number.isNaN(buf.price(i))) s.floatColumn('price', buf.price(i) / NANOS);
      s.intColumn('size', buf.size(i)).intColumn('flags', buf.flags(i)).intColumn('ts_in_delta', buf.tsInDelta(i)).intColumn('depth', buf.depth);
      if (!Number.isNaN(top.bidPx)) s.floatColumn('best_bid_px', top.bidPx).floatColumn('best_bid_sz', top.bidSz);
      if (!Number.isNaN(top.askPx)) s.floatColumn('best_ask_px', top.askPx).floatColumn('best_ask_sz', top.askSz);
      if (!Number.isNaN(top.spread)) s.floatColumn('spread', top.spread);
      s.booleanColumn('crossed', top.crossed).booleanColumn('locked', top.locked);
      LEVEL_COLUMNS.forEach((col, field) => s.arrayColumn(col, levelColumn(buf, i, field as LevelField)));
      await s.at(recv, 'ns');
    }
    await this.flushSender(s);
  }

  private async sendTrades(buf: TradeBuffer, symbolOf: SymbolOf): Promise<void> {
    if (buf.length === 0) return;
    const s = await this.ilp();
    for (let i = 0; i < buf.length; i++) {
      const recv = rowKey(s, 'trades', buf, i, symbolOf, { side: String.fromCharCode(buf.side(i)) });
      if (!Number.isNaN(buf.price(i))) s.floatColumn('price', buf.price(i) / NANOS);
      s.intColumn('size', buf.size(i));
      await s.at(recv, 'ns');
    }
    await this.flushSender(s);
  }

  private async flushSender(s: Sender): Promise<void> {
    try {
      await s.flush();
    } catch (err) {
      s.reset();
      throw new StoreError('STORE_WRITE_FAILED', `QuestDB rejected a write: ${(err as Error).message}`);
    }
  }

  /** Waits until the WAL of every table is applied, so reads see all writes. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.sender) await this.flushSender(this.sender);
    for (let attempt = 0; attempt < 300; attempt++) {
      const rows = await this.rows(`SELECT name, writerTxn, sequencerTxn FROM wal_tables() WHERE name IN ('book_snapshots', 'trades', 'ingest_runs')`);
      if (rows.every((r) => Number(r.writerTxn) >= Number(r.sequencerTxn))) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new StoreError('STORE_WRITE_FAILED', 'QuestDB did not apply its WAL within 30 s');
  }

  async recordRun(run: IngestRun): Promise<void> {
    const s = await this.ilp();
    s.table('ingest_runs').symbol('run_id', run.runId).symbol('sha256', run.sha256).symbol('dataset', run.dataset)
      .symbol('schema', run.schema).symbol('status', run.status)
      .stringColumn('source', run.source).stringColumn('symbols', JSON.stringify(run.symbols))
      .intColumn('records', run.records).intColumn('snapshots', run.snapshots).intColumn('trades', run.trades)
      .stringColumn('anomalies', JSON.stringify(run.anomalies)).timestampColumn('started_at', run.startedAt.getTime(), 'ms');
    if (run.error) s.stringColumn('error', run.error);
    await s.at(run.finishedAt.getTime(), 'ms');
    await this.flushSender(s);
  }

  async hasSucceeded(sha256: string): Promise<boolean> {
    const rows = await this.rows(`SELECT count() n FROM ingest_runs WHERE sha256 = '${sha256.replace(/[^0-9a-f]/g, '')}' AND status = 'succeeded'`);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async listInstruments(): Promise<InstrumentInfo[]> {
    const rows = await this.rows(`SELECT symbol, instrument_id, publisher_id, cast(min(ts_recv) AS LONG) first_us, cast(max(ts_recv) AS LONG) last_us,
      count() n FROM book_snapshots ORDER BY symbol, instrument_id, publisher_id`);
    return rows.map((r) => ({
      symbol: (r.symbol as string | null) ?? null,
      instrumentId: Number(r.instrument_id),
      publisherId: Number(r.publisher_id),
      firstTsRecv: BigInt(r.first_us as number) * 1000n,
      lastTsRecv: BigInt(r.last_us as number) * 1000n,
      snapshots: Number(r.n),
    }));
  }

  async bookAt(symbol: string, at?: bigint, publisherId?: number): Promise<StoredSnapshot | null> {
    const where = [`symbol = '${symbol.replace(/'/g, "''")}'`];
    if (at !== undefined) {
      const us = at / 1000n;
      where.push(`(ts_recv < cast(${us} AS TIMESTAMP) OR (ts_recv = cast(${us} AS TIMESTAMP) AND ts_recv_nanos <= ${at % 1000n}))`);
    }
    if (publisherId !== undefined) where.push(`publisher_id = ${Math.trunc(publisherId)}`);
    const rows = await this.rows(`${SELECT_SNAPSHOT} WHERE ${where.join(' AND ')} ORDER BY ts_recv DESC, ts_recv_nanos DESC, sequence DESC, sub_sequence DESC, instrument_id DESC, publisher_id DESC LIMIT 1`);
    return rows.length ? rowToSnapshot(toStoredRow(rows[0])) : null;
  }

  async *readRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<StoredSnapshot[]> {
    const pageSize = q.pageSize ?? 2000;
    let remaining = q.limit ?? Infinity;
    // Keyset pages: each starts after the last row of the one before (or the caller's key).
    let after: Pick<StoredRow, 'ts_recv' | 'instrument_id' | 'publisher_id' | 'sequence' | 'sub_sequence'> | null = q.after === undefined ? null : {
      ts_recv: q.after.tsRecv, instrument_id: q.after.instrumentId, publisher_id: q.after.publisherId,
      sequence: q.after.sequence, sub_sequence: q.after.subSequence,
    };
    while (remaining > 0 && !signal?.aborted) {
      const where: string[] = [];
      if (q.from !== undefined) where.push(`ts_recv >= cast(${q.from / 1000n} AS TIMESTAMP)`);
      if (q.to !== undefined) where.push(`ts_recv <= cast(${q.to / 1000n} AS TIMESTAMP)`);
      if (q.symbols.length) where.push(`symbol IN (${q.symbols.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ')})`);
      if (after !== null) {
        const us = after.ts_recv / 1000n;
        const nanos = Number(after.ts_recv % 1000n);
        where.push(`(ts_recv > cast(${us} AS TIMESTAMP) OR (ts_recv = cast(${us} AS TIMESTAMP) AND (ts_recv_nanos > ${nanos} OR (ts_recv_nanos = ${nanos} AND
          (instrument_id > ${after.instrument_id} OR (instrument_id = ${after.instrument_id} AND (publisher_id > ${after.publisher_id} OR
          (publisher_id = ${after.publisher_id} AND (sequence > ${after.sequence} OR (sequence = ${after.sequence} AND sub_sequence > ${after.sub_sequence}))))))))))`);
      }
      const take = Math.min(pageSize, remaining);
      const sql = `${SELECT_SNAPSHOT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ts_recv, ts_recv_nanos, instrument_id, publisher_id, sequence, sub_sequence LIMIT ${take}`;
      const rows = (await this.rows(sql)).map(toStoredRow);
      const batch: StoredSnapshot[] = [];
      for (const row of rows) {
        // ns bounds are exact; the SQL bounds above are per µs. Only rows
        // inside them count towards the limit.
        if ((q.from !== undefined && row.ts_recv < q.from) || (q.to !== undefined && row.ts_recv > q.to)) continue;
        if (remaining <= 0) break;
        remaining--;
        batch.push(rowToSnapshot(row));
      }
      if (signal?.aborted) return;
      if (batch.length > 0) yield batch;
      if (rows.length < take) return;
      after = rows[rows.length - 1];
    }
  }

  async countSnapshots(): Promise<number> {
    const rows = await this.rows('SELECT count() n FROM book_snapshots');
    return Number(rows[0]?.n ?? 0);
  }

  async ping(): Promise<void> {
    await this.exec('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.sender) {
      await this.sender.close();
      this.sender = null;
    }
  }
}

function toStoredRow(r: Record<string, unknown>): StoredRow {
  const ns = (us: unknown, nanos: unknown) => BigInt(us as number) * 1000n + BigInt((nanos as number) ?? 0);
  return {
    ts_recv: ns(r.ts_recv_us, r.ts_recv_nanos),
    ts_event: ns(r.ts_event_us, r.ts_event_nanos),
    instrument_id: Number(r.instrument_id),
    publisher_id: Number(r.publisher_id),
    sequence: Number(r.sequence),
    sub_sequence: Number(r.sub_sequence),
    symbol: (r.symbol as string | null) ?? null,
    action: r.action as string,
    side: r.side as string,
    price: r.price === null ? null : Number(r.price),
    size: Number(r.size),
    flags: Number(r.flags),
    ts_in_delta: Number(r.ts_in_delta),
    depth: Number(r.depth),
    crossed: Boolean(r.crossed),
    locked: Boolean(r.locked),
    bid_px: (r.bid_px as number[]) ?? [],
    bid_sz: (r.bid_sz as number[]) ?? [],
    bid_ct: (r.bid_ct as number[]) ?? [],
    ask_px: (r.ask_px as number[]) ?? [],
    ask_sz: (r.ask_sz as number[]) ?? [],
    ask_ct: (r.ask_ct as number[]) ?? [],
  };
}

/** A row as /exec returns it (after toStoredRow), back to a StoredSnapshot. */
interface StoredRow {
  ts_recv: bigint;
  ts_event: bigint;
  instrument_id: number;
  publisher_id: number;
  sequence: number;
  sub_sequence: number;
  symbol: string | null;
  action: string;
  side: string;
  price: number | null;
  size: number;
  flags: number;
  ts_in_delta: number;
  depth: number;
  crossed: boolean;
  locked: boolean;
  bid_px: number[];
  bid_sz: number[];
  bid_ct: number[];
  ask_px: number[];
  ask_sz: number[];
  ask_ct: number[];
}

function rowToSnapshot(r: StoredRow): StoredSnapshot {
  const pack = (px: number[], sz: number[], ct: number[]) => {
    const out: number[] = [];
    for (let k = 0; k < px.length; k++) out.push(toNanos(px[k]), sz[k], ct[k]);
    return out;
  };
  return {
    symbol: r.symbol,
    instrumentId: r.instrument_id,
    publisherId: r.publisher_id,
    tsRecv: BigInt(r.ts_recv),
    tsEvent: BigInt(r.ts_event),
    sequence: r.sequence,
    subSequence: r.sub_sequence,
    action: r.action,
    side: r.side,
    price: r.price === null || Number.isNaN(r.price) ? null : toNanos(r.price),
    size: r.size,
    flags: r.flags,
    tsInDelta: r.ts_in_delta,
    depth: r.depth,
    bids: pack(r.bid_px ?? [], r.bid_sz ?? [], r.bid_ct ?? []),
    asks: pack(r.ask_px ?? [], r.ask_sz ?? [], r.ask_ct ?? []),
    crossed: r.crossed,
    locked: r.locked,
  };
}
