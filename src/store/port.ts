import { BooktapeError } from '../errors.js';
import type { DepthSnapshot } from '../book/snapshot.js';
import type { SnapshotBuffer } from '../book/snapshot-buffer.js';
import type { TradeBuffer } from '../book/trade-buffer.js';
import type { MboEventBuffer } from '../book/event-buffer.js';
import type { CheckpointBuffer } from '../book/checkpoint-buffer.js';
import type { Checkpoint } from '../book/l3.js';

/** A snapshot read back from a store: a DepthSnapshot with its symbol. */
export interface StoredSnapshot extends DepthSnapshot {
  symbol: string | null;
}

export interface InstrumentInfo {
  symbol: string | null;
  instrumentId: number;
  publisherId: number;
  firstTsRecv: bigint;
  lastTsRecv: bigint;
  snapshots: number;
  /** Levels per side kept in its snapshots (BOOKTAPE_DEPTH when they were ingested; the largest, if runs differed). */
  depth: number;
}

export interface IngestRun {
  runId: string;
  source: string;
  sha256: string;
  dataset: string;
  schema: string;
  symbols: string[];
  records: number;
  snapshots: number;
  trades: number;
  anomalies: Record<string, number>;
  startedAt: Date;
  finishedAt: Date;
  /** abandoned: cut short by a worker that died, recorded by the run that took the job over. */
  status: 'succeeded' | 'failed' | 'abandoned';
  error: string | null;
  /** A Databento source: the cost in US dollars and the billable bytes the service quoted before the download. */
  costUsd?: number;
  billableBytes?: number;
}

/** A row's key: rows are unique by it and read in its order. */
export interface RowKey {
  tsRecv: bigint;
  instrumentId: number;
  publisherId: number;
  sequence: number;
  subSequence: number;
}

/** Orders rows by key: (ts_recv, instrument_id, publisher_id, sequence, sub_sequence). */
export function compareKeys(a: RowKey, b: RowKey): number {
  if (a.tsRecv !== b.tsRecv) return a.tsRecv < b.tsRecv ? -1 : 1;
  return a.instrumentId - b.instrumentId || a.publisherId - b.publisherId || a.sequence - b.sequence || a.subSequence - b.subSequence;
}

export interface RangeQuery {
  /** Raw symbols; empty = all. */
  symbols: string[];
  /** Only this publisher's books; default all. */
  publisherId?: number;
  /** ts_recv bounds in ns, inclusive. */
  from?: bigint;
  to?: bigint;
  /**
   * Only rows after this key: the last row of a page, to read the next one.
   * Rows sharing the key's ts_recv are neither skipped nor repeated, as a
   * `from` of that instant (or the one after) would.
   */
  after?: RowKey;
  /** At most this many rows. */
  limit?: number;
  /** Rows per keyset page read from the database. */
  pageSize?: number;
}

/**
 * A downsampled top-of-book series of one symbol: buckets of `everyNs` of
 * ts_recv, aligned to the epoch (so to UTC midnight: `everyNs` is a whole
 * number of milliseconds that divides a day).
 */
export interface BboQuery {
  symbol: string;
  everyNs: bigint;
  /** ts_recv bounds in ns, inclusive. */
  from?: bigint;
  to?: bigint;
  publisherId?: number;
  /** At most this many buckets, the earliest. */
  limit: number;
}

/** A price over a bucket: its first and last value in key order, its least and greatest. */
export interface PriceSpan {
  first: number;
  last: number;
  min: number;
  max: number;
}

/**
 * One bucket of a BBO series: best bid and best ask over the bucket's
 * snapshots that have that side (null when none has), and its trades (null
 * when none). Prices in price units, as stored. Buckets with no snapshot and
 * no trade are left out.
 */
export interface BboBucket {
  /** The bucket's start, ns since the epoch. */
  ts: bigint;
  snapshots: number;
  bid: PriceSpan | null;
  ask: PriceSpan | null;
  trades: TradeSpan | null;
}

/** A bucket's trades: how many, their summed size, and their price (null when none had one). */
export interface TradeSpan {
  count: number;
  volume: number;
  price: PriceSpan | null;
}

/** The bucket that instant `ts` falls in: its start. */
export const bucketOf = (ts: bigint, everyNs: bigint): bigint => ts - (ts % everyNs);

/**
 * What a write reports: how many of the batch's rows were newly stored (the
 * others were there already: a re-ingest), or nothing when the store cannot
 * tell (QuestDB deduplicates on its own, after the write).
 */
export type WriteCount = { added: number } | void;

/**
 * Where a store reports what is not the failure of a call: an outage its
 * writes ride out, a long wait for the server. A pino logger is one.
 */
export interface StoreLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export const SILENT_LOG: StoreLog = { info: () => undefined, warn: () => undefined };

/** Symbols for instrument ids, from the file's mappings. */
export type SymbolOf = (instrumentId: number) => string | null;

/** Stored MBO records read back: the records (with their sub-sequences) and each one's symbol. */
export interface MboChunk {
  events: MboEventBuffer;
  symbols: Array<string | null>;
}

/** One book in the store: an instrument on a publisher, and the symbol its rows carry. */
export interface BookRef {
  symbol: string;
  instrumentId: number;
  publisherId: number;
}

/**
 * What the L3 lookups read (src/store/l3.ts composes them): a book's latest
 * checkpoint before an instant and its MBO events after it. Each read is
 * bounded by the checkpoint policy: one checkpoint, and the events of at
 * most one checkpoint interval of one book.
 */
export interface L3Reads {
  /** The book of `symbol` with the latest MBO event at or before `at` (default: the latest), on `publisherId` when given. */
  latestBook(symbol: string, at: bigint | undefined, publisherId?: number): Promise<BookRef | null>;
  /** The book's latest whole checkpoint with ts_recv at or before `at` (one whose rows are all stored). */
  checkpoint(book: BookRef, at: bigint): Promise<Checkpoint | null>;
  /** The book's MBO events after `after` (its key; null: from its first) with ts_recv at or before `until`, in key order. */
  events(book: BookRef, after: Checkpoint | null, until: bigint): Promise<MboEventBuffer>;
  /** The books of `symbol` (on `publisherId`) where order `orderId` has events, with its first and last event's ts_recv in each. */
  orderBooks(orderId: bigint, symbol: string, publisherId?: number): Promise<Array<{ book: BookRef; first: bigint; last: bigint }>>;
}

/**
 * The one storage port the pipeline and the API use. Snapshot and trade rows
 * are keyed by (ts_recv, instrument_id, publisher_id, sequence, sub_sequence):
 * writing the same row
 * twice leaves one row, so re-ingesting a file, or overlapping files, is a
 * no-op in effect.
 */
export interface SnapshotStore {
  readonly kind: 'duckdb' | 'questdb';
  /** Creates tables if missing. Idempotent. */
  init(): Promise<void>;
  /**
   * Writes a batch. A caller may issue the next write before this one
   * resolves: the store applies writes in call order, one at a time. The
   * batch is read until the promise settles: leave it unchanged until then.
   */
  writeSnapshots(batch: SnapshotBuffer, symbolOf: SymbolOf): Promise<WriteCount>;
  writeTrades(batch: TradeBuffer, symbolOf: SymbolOf): Promise<WriteCount>;
  /**
   * The L3 side: MBO records (mbo_events) and L3 checkpoints
   * (order_checkpoints), keyed as snapshot rows are (a checkpoint row's key
   * is its record's, plus its rank), so a re-ingest adds nothing. A
   * checkpoint's rows are written whole in one call.
   */
  writeMboEvents(batch: MboEventBuffer, symbolOf: SymbolOf): Promise<WriteCount>;
  writeCheckpoints(batch: CheckpointBuffer, symbolOf: SymbolOf): Promise<WriteCount>;
  /** Makes everything written so far durable and visible to reads. */
  flush(): Promise<void>;
  recordRun(run: IngestRun): Promise<void>;
  /** Whether a run with this content hash succeeded (the scheduler skips such files). */
  hasSucceeded(sha256: string): Promise<boolean>;
  /** Whether a run of this source, as its run recorded it (a Databento request's text form), succeeded. */
  hasIngested(source: string): Promise<boolean>;
  listInstruments(): Promise<InstrumentInfo[]>;
  /** The latest snapshot of the symbol at or before `at` (default: the latest). */
  bookAt(symbol: string, at?: bigint, publisherId?: number): Promise<StoredSnapshot | null>;
  /**
   * Snapshots in key order (ts_recv, instrument_id, publisher_id, sequence,
   * sub_sequence), a batch of rows at a time, never an empty one: a consumer
   * pays the asynchronous iteration once a batch, not once a row (a
   * noticeable share of a replay's time otherwise). `rowsOf` goes row by row.
   */
  readRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<StoredSnapshot[]>;
  /** Best bid, best ask and trades of a symbol, downsampled into buckets (BboQuery), in time order. */
  bbo(q: BboQuery): Promise<BboBucket[]>;
  /**
   * readRange's rows as DBN MBP-1 or MBP-10 records, in
   * chunks of whole records, written straight from the store's columns: the
   * same bytes as encode/mbp.ts's writeMbpSnapshot of each row. Optional:
   * without it the rows are read as objects and encoded.
   */
  readRangeMbp?(q: RangeQuery, levels: 1 | 10, signal?: AbortSignal): AsyncGenerator<Uint8Array>;
  /** How many rows readRange(q) yields now (q.limit aside): a DBN replay announces it up front. */
  countRange(q: RangeQuery): Promise<number>;
  /**
   * Stored MBO records (mbo_events) of a range in key order, as readRange
   * gives snapshots: chunks of DBN MBO records, each with its sub_sequence
   * and symbol, never an empty one. `after` is a record's key.
   */
  readMboRange(q: RangeQuery, signal?: AbortSignal): AsyncGenerator<MboChunk>;
  /** How many records readMboRange(q) yields now (q.limit aside). */
  countMboRange(q: RangeQuery): Promise<number>;
  countSnapshots(): Promise<number>;
  /** Reads of the L3 tables. */
  readonly l3: L3Reads;
  /** Rows of mbo_events and of order_checkpoints. */
  countL3(): Promise<{ events: number; checkpointRows: number }>;
  ping(): Promise<void>;
  /**
   * Whether a write would succeed now (a worker's readiness; it takes no
   * job while this fails). A store without it is taken as writable when it
   * answers ping().
   */
  probeWrite?(): Promise<void>;
  close(): Promise<void>;
  /** What the store keeps in memory for bookAt, where it keeps anything (for /metrics). */
  bookCache?(): BookCacheStats;
}

/** A store's cache of rows for bookAt: estimated bytes held, and lookups since start served from it or not. */
export interface BookCacheStats {
  bytes: number;
  hits: number;
  misses: number;
}

/**
 * A store's failure: STORE_UNAVAILABLE (cannot connect or open), STORE_BUSY
 * (out of resources for this load: the same call may succeed later),
 * STORE_READ_FAILED or STORE_WRITE_FAILED (the store refused the statement),
 * STORE_WAL_STALLED (QuestDB took the rows but stopped applying them).
 */
export type StoreErrorCode = 'STORE_UNAVAILABLE' | 'STORE_BUSY' | 'STORE_WRITE_FAILED' | 'STORE_READ_FAILED' | 'STORE_WAL_STALLED';

/** Not the caller's fault, and it may pass: every store failure is 'unavailable' (503, retried, exit 2). */
export class StoreError extends BooktapeError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(code, 'unavailable', message);
  }
}

/** A range's rows one by one, from readRange's batches. */
export async function* rowsOf(batches: AsyncIterable<StoredSnapshot[]>): AsyncGenerator<StoredSnapshot> {
  for await (const batch of batches) yield* batch;
}
