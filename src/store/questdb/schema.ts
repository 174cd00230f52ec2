/**
 * QuestDB's tables, in one place: every column name the adapter writes or
 * reads is here, so a query module (the store, the best bid/ask series)
 * names columns through these constants and a schema change is made once.
 *
 * Timestamps are TIMESTAMP_NS (QuestDB 9.1+): the designated `ts_recv` keeps
 * Databento's nanoseconds, so LATEST ON, SAMPLE BY, ASOF JOIN and interval
 * scans order rows exactly. Levels are two DOUBLE[][] columns, `bids` and
 * `asks`, each three rows of up to `depth` levels, best first:
 * `bids[1]` prices, `bids[2]` sizes, `bids[3]` order counts (QuestDB arrays
 * are 1-based). `bids[1]` and `bids[2]` are the price and size vectors that
 * QuestDB's order-book functions (l2price, array_cum_sum, insertion_point, ...)
 * take. Sizes and counts are whole numbers stored as doubles (an array's only
 * element type); the scalar sizes are LONG.
 */
export const SNAPSHOTS = 'book_snapshots';
export const TRADES = 'trades';
export const RUNS = 'ingest_runs';

/** Column names of book_snapshots (and, for the key and trade fields, of trades). */
export const COL = {
  tsRecv: 'ts_recv',
  tsEvent: 'ts_event',
  symbol: 'symbol',
  instrumentId: 'instrument_id',
  publisherId: 'publisher_id',
  sequence: 'sequence',
  subSequence: 'sub_sequence',
  action: 'action',
  side: 'side',
  price: 'price',
  size: 'size',
  flags: 'flags',
  tsInDelta: 'ts_in_delta',
  depth: 'depth',
  bestBidPx: 'best_bid_px',
  bestBidSz: 'best_bid_sz',
  bestAskPx: 'best_ask_px',
  bestAskSz: 'best_ask_sz',
  spread: 'spread',
  crossed: 'crossed',
  locked: 'locked',
  bids: 'bids',
  asks: 'asks',
} as const;

/** Rows of a side's level array (1-based, as SQL indexes them). */
export const LEVEL_ROW = { price: 1, size: 2, count: 3 } as const;

/** The oldest QuestDB with TIMESTAMP_NS, DOUBLE[][] and ILP v2 (binary doubles and arrays). */
export const MIN_VERSION = [9, 1, 0] as const;

const KEY = `${COL.tsRecv}, ${COL.instrumentId}, ${COL.publisherId}, ${COL.sequence}, ${COL.subSequence}`;

/**
 * The market-data tables' partitions: an hour of `ts_recv` each. A file whose
 * rows land among rows already stored (a second file of a day, a late
 * correction) makes QuestDB rewrite each partition it touches from its first
 * new row to the partition's end, once per merge: hour partitions bound a
 * rewrite, the memory it maps and the disk it doubles to an hour's rows, not
 * a day's (measured in docs/operations.md). Tables created before keep the
 * partitioning they were made with: QuestDB cannot change it in place.
 */
export const PARTITION_BY = 'HOUR';

export const DDL = [
  `CREATE TABLE IF NOT EXISTS ${SNAPSHOTS} (
    ${COL.tsRecv} TIMESTAMP_NS, ${COL.tsEvent} TIMESTAMP_NS,
    ${COL.symbol} SYMBOL, ${COL.instrumentId} LONG, ${COL.publisherId} INT, ${COL.sequence} LONG, ${COL.subSequence} INT,
    ${COL.action} SYMBOL, ${COL.side} SYMBOL, ${COL.price} DOUBLE, ${COL.size} LONG, ${COL.flags} INT, ${COL.tsInDelta} INT, ${COL.depth} INT,
    ${COL.bestBidPx} DOUBLE, ${COL.bestBidSz} LONG, ${COL.bestAskPx} DOUBLE, ${COL.bestAskSz} LONG, ${COL.spread} DOUBLE,
    ${COL.crossed} BOOLEAN, ${COL.locked} BOOLEAN,
    ${COL.bids} DOUBLE[][], ${COL.asks} DOUBLE[][]
  ) TIMESTAMP(${COL.tsRecv}) PARTITION BY ${PARTITION_BY} WAL
  DEDUP UPSERT KEYS(${KEY})`,
  `CREATE TABLE IF NOT EXISTS ${TRADES} (
    ${COL.tsRecv} TIMESTAMP_NS, ${COL.tsEvent} TIMESTAMP_NS,
    ${COL.symbol} SYMBOL, ${COL.instrumentId} LONG, ${COL.publisherId} INT, ${COL.sequence} LONG, ${COL.subSequence} INT,
    ${COL.side} SYMBOL, ${COL.price} DOUBLE, ${COL.size} LONG
  ) TIMESTAMP(${COL.tsRecv}) PARTITION BY ${PARTITION_BY} WAL
  DEDUP UPSERT KEYS(${KEY})`,
  `CREATE TABLE IF NOT EXISTS ${RUNS} (
    finished_at TIMESTAMP, run_id SYMBOL, source STRING, sha256 SYMBOL, dataset SYMBOL, schema SYMBOL, symbols STRING,
    records LONG, snapshots LONG, trades LONG, anomalies STRING, started_at TIMESTAMP, status SYMBOL, error STRING,
    cost_usd DOUBLE, billable_bytes LONG
  ) TIMESTAMP(finished_at) PARTITION BY MONTH WAL`,
  // Tables made before Databento sources: their runs have no cost.
  `ALTER TABLE ${RUNS} ADD COLUMN IF NOT EXISTS cost_usd DOUBLE`,
  `ALTER TABLE ${RUNS} ADD COLUMN IF NOT EXISTS billable_bytes LONG`,
];

/**
 * Refuses a server older than MIN_VERSION, from `SELECT version()`'s text
 * ("PostgreSQL 12.3, compiled by Visual C++ build 1914, 64-bit, QuestDB"
 * on older servers, which carry no version: refused too).
 */
export function versionProblem(text: string): string | null {
  const m = /QuestDB[^0-9]*(\d+)\.(\d+)\.(\d+)/i.exec(text) ?? /(\d+)\.(\d+)\.(\d+)/.exec(text.replace(/PostgreSQL \S+/i, ''));
  const want = MIN_VERSION.join('.');
  if (m === null) return `QuestDB reports no version ("${text}"); booktape needs QuestDB ${want} or newer (TIMESTAMP_NS columns)`;
  const got = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let k = 0; k < 3; k++) {
    if (got[k] > MIN_VERSION[k]) return null;
    if (got[k] < MIN_VERSION[k]) return `QuestDB ${got.join('.')} is too old; booktape needs QuestDB ${want} or newer (TIMESTAMP_NS columns)`;
  }
  return null;
}
