import type { BboQuery } from '../port.js';

/**
 * The SQL of a BBO series on DuckDB: buckets by integer arithmetic on the ns
 * column (exact, and epoch-aligned as QuestDB's SAMPLE BY ALIGN TO CALENDAR
 * is for bucket sizes that divide a day). First and last follow the row key.
 * Parameters: $1 symbol, $2 from, $3 to, then $4 publisher_id when asked.
 */
const KEY_ORDER = 'ORDER BY ts_recv, instrument_id, publisher_id, sequence, sub_sequence';

const span = (column: string, as: string) => {
  const having = `FILTER (WHERE ${column} IS NOT NULL)`;
  return `first(${column} ${KEY_ORDER}) ${having} AS ${as}_first, last(${column} ${KEY_ORDER}) ${having} AS ${as}_last,
    min(${column}) AS ${as}_min, max(${column}) AS ${as}_max`;
};

function where(q: BboQuery): string {
  return `symbol = $1 AND ts_recv BETWEEN $2 AND $3${q.publisherId === undefined ? '' : ' AND publisher_id = $4'}`;
}

const bucket = (q: BboQuery) => `ts_recv - ts_recv % ${BigInt(q.everyNs)} AS ts`;

export function bookBucketsSql(q: BboQuery): string {
  return `SELECT ${bucket(q)}, count(*)::BIGINT AS n, ${span('best_bid_px', 'bid')}, ${span('best_ask_px', 'ask')}
    FROM book_snapshots WHERE ${where(q)} GROUP BY ts ORDER BY ts LIMIT ${Math.trunc(q.limit)}`;
}

export function tradeBucketsSql(q: BboQuery): string {
  return `SELECT ${bucket(q)}, count(*)::BIGINT AS n, sum(size)::BIGINT AS volume, ${span('price', 'px')}
    FROM trades WHERE ${where(q)} GROUP BY ts ORDER BY ts LIMIT ${Math.trunc(q.limit)}`;
}
