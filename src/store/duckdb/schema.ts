/** DuckDB tables: the same logical schema as QuestDB's (see README, "Storage"). */

/** The row key and what identifies the row's instrument, first in both tables. */
const KEY_COLUMNS = `
  ts_recv BIGINT NOT NULL,
  ts_event BIGINT NOT NULL,
  instrument_id UINTEGER NOT NULL,
  publisher_id USMALLINT NOT NULL,
  sequence UINTEGER NOT NULL,
  sub_sequence USMALLINT NOT NULL,
  symbol VARCHAR`;

const SNAPSHOT_COLUMNS = `${KEY_COLUMNS},
  action VARCHAR NOT NULL,
  side VARCHAR NOT NULL,
  price DOUBLE,
  size UINTEGER NOT NULL,
  flags UTINYINT NOT NULL,
  ts_in_delta INTEGER NOT NULL,
  depth USMALLINT NOT NULL,
  best_bid_px DOUBLE,
  best_bid_sz UBIGINT,
  best_ask_px DOUBLE,
  best_ask_sz UBIGINT,
  spread DOUBLE,
  crossed BOOLEAN NOT NULL,
  locked BOOLEAN NOT NULL,
  bid_px DOUBLE[],
  bid_sz UBIGINT[],
  bid_ct UINTEGER[],
  ask_px DOUBLE[],
  ask_sz UBIGINT[],
  ask_ct UINTEGER[]`;

const TRADE_COLUMNS = `${KEY_COLUMNS},
  side VARCHAR NOT NULL,
  price DOUBLE,
  size UINTEGER NOT NULL`;

/**
 * The L3 tables, as QuestDB's (src/store/questdb/mbo.ts says what each
 * column holds), with DuckDB's exact types: `order_id` is a UBIGINT, so
 * every u64 id reads as itself, and `price` a BIGINT in 1e-9 units (NULL
 * for UNDEF_PRICE).
 */
const MBO_EVENT_COLUMNS = `
  ts_recv BIGINT NOT NULL,
  ts_event BIGINT NOT NULL,
  publisher_id USMALLINT NOT NULL,
  instrument_id UINTEGER NOT NULL,
  action VARCHAR NOT NULL,
  side VARCHAR NOT NULL,
  price BIGINT,
  size UINTEGER NOT NULL,
  channel_id UTINYINT NOT NULL,
  order_id UBIGINT NOT NULL,
  flags UTINYINT NOT NULL,
  ts_in_delta INTEGER NOT NULL,
  sequence UINTEGER NOT NULL,
  sub_sequence UINTEGER NOT NULL,
  symbol VARCHAR`;

const CHECKPOINT_COLUMNS = `
  ts_recv BIGINT NOT NULL,
  publisher_id USMALLINT NOT NULL,
  instrument_id UINTEGER NOT NULL,
  sequence UINTEGER NOT NULL,
  sub_sequence UINTEGER NOT NULL,
  symbol VARCHAR,
  rank UINTEGER NOT NULL,
  kind VARCHAR NOT NULL,
  side VARCHAR NOT NULL,
  price BIGINT,
  size UINTEGER NOT NULL,
  order_id UBIGINT,
  order_ts_recv BIGINT`;

/**
 * Stores made before sizes and counts became integers held them as DOUBLE.
 * Integer lists are exact by type, and DuckDB stores them faster than
 * DOUBLE lists (bitpacking instead of ALP). Level sizes are sums of u32
 * order sizes, hence UBIGINT; counts are order counts, hence UINTEGER.
 */
export const INTEGER_COLUMNS = [
  ['best_bid_sz', 'UBIGINT'], ['best_ask_sz', 'UBIGINT'],
  ['bid_sz', 'UBIGINT[]'], ['bid_ct', 'UINTEGER[]'], ['ask_sz', 'UBIGINT[]'], ['ask_ct', 'UINTEGER[]'],
] as const;

/** Statements that bring an older store's snapshot tables to INTEGER_COLUMNS' types (none when current). */
export function migrationSql(types: Map<string, string>): string[] {
  const out: string[] = [];
  for (const table of ['book_snapshots', 'stage_snapshots']) {
    for (const [column, type] of INTEGER_COLUMNS) {
      const now = types.get(`${table}.${column}`);
      if (now !== undefined && now !== type) out.push(`ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${type}`);
    }
  }
  return out;
}

/** One key for the tables: a row per snapshot (or trade, or MBO record), whatever file it came from. */
export const KEY = ['ts_recv', 'instrument_id', 'publisher_id', 'sequence', 'sub_sequence'] as const;

/** The tables written through the keyed write path, each with its staging table and key. */
export const KEYED_TABLES = {
  book_snapshots: { stage: 'stage_snapshots', key: KEY },
  trades: { stage: 'stage_trades', key: KEY },
  mbo_events: { stage: 'stage_mbo_events', key: KEY },
  order_checkpoints: { stage: 'stage_order_checkpoints', key: [...KEY, 'rank'] },
} as const;
export type KeyedTable = keyof typeof KEYED_TABLES;

export const DDL = [
  `CREATE TABLE IF NOT EXISTS book_snapshots (${SNAPSHOT_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS trades (${TRADE_COLUMNS})`,
  // Staging tables: the appender fills them, an anti-join moves new rows on.
  `CREATE TABLE IF NOT EXISTS stage_snapshots (${SNAPSHOT_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS stage_trades (${TRADE_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS mbo_events (${MBO_EVENT_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS order_checkpoints (${CHECKPOINT_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS stage_mbo_events (${MBO_EVENT_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS stage_order_checkpoints (${CHECKPOINT_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, dataset VARCHAR,
    schema VARCHAR, symbols VARCHAR, records BIGINT, snapshots BIGINT, trades BIGINT,
    anomalies VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR NOT NULL, error VARCHAR,
    cost_usd DOUBLE, billable_bytes BIGINT)`,
  // Stores made before Databento sources: their runs have no cost.
  'ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS cost_usd DOUBLE',
  'ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS billable_bytes BIGINT',
];

/** Moves staged rows into `table`, skipping keys already there (and duplicates within the stage). */
export function mergeSql(table: KeyedTable): string {
  const { stage, key } = KEYED_TABLES[table];
  const match = key.map((k) => `t.${k} = s.${k}`).join(' AND ');
  return `INSERT INTO ${table}
    SELECT DISTINCT ON (${key.join(', ')}) s.* FROM ${stage} s
    WHERE NOT EXISTS (
      SELECT 1 FROM ${table} t
      WHERE t.ts_recv BETWEEN (SELECT min(ts_recv) FROM ${stage}) AND (SELECT max(ts_recv) FROM ${stage})
        AND ${match})`;
}

/**
 * Finds whether `table` holds any row of the given instruments (params $3...)
 * with ts_recv in [$1, $2]: zone maps on ts_recv make this cheap.
 */
export function overlapSql(table: KeyedTable, instruments: number): string {
  const ids = Array.from({ length: instruments }, (_, k) => `$${k + 3}`).join(', ');
  return `SELECT 1 FROM ${table} WHERE ts_recv BETWEEN $1 AND $2 AND instrument_id IN (${ids}) LIMIT 1`;
}
