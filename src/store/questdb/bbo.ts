import { joinBuckets, spanOf } from '../bbo.js';
import { StoreError, type BboBucket, type BboQuery } from '../port.js';

/**
 * A BBO series on QuestDB: SAMPLE BY over the designated ts_recv, aligned to
 * the calendar (UTC midnight), which for bucket sizes that divide a day is
 * the epoch alignment DuckDB's arithmetic gives. Here ts_recv is µs and its
 * sub-µs remainder is ts_recv_nanos: the bounds below are exact in ns.
 */
type Rows = (sql: string) => Promise<Array<Record<string, unknown>>>;

const UNITS: Array<[string, bigint]> = [['d', 86_400_000_000_000n], ['h', 3_600_000_000_000n], ['m', 60_000_000_000n], ['s', 1_000_000_000n], ['T', 1_000_000n]];

/** SAMPLE BY's "n{unit}" for a bucket size in ns (a whole number of ms). */
export function sampleUnit(everyNs: bigint): string {
  for (const [unit, ns] of UNITS) if (everyNs % ns === 0n) return `${everyNs / ns}${unit}`;
  throw new StoreError('STORE_READ_FAILED', `a BBO bucket must be a whole number of milliseconds, got ${everyNs} ns`);
}

/** ts_recv at or after (`>=`) or at or before (`<=`) an instant in ns. */
function bound(op: '>=' | '<=', ns: bigint): string {
  const us = ns / 1000n;
  const strict = op === '>=' ? '>' : '<';
  return `(ts_recv ${strict} cast(${us} AS TIMESTAMP) OR (ts_recv = cast(${us} AS TIMESTAMP) AND ts_recv_nanos ${op} ${ns % 1000n}))`;
}

function where(q: BboQuery): string {
  const parts = [`symbol = '${q.symbol.replace(/'/g, "''")}'`];
  if (q.from !== undefined) parts.push(bound('>=', q.from));
  if (q.to !== undefined) parts.push(bound('<=', q.to));
  if (q.publisherId !== undefined) parts.push(`publisher_id = ${Math.trunc(q.publisherId)}`);
  return parts.join(' AND ');
}

const span = (column: string, as: string) =>
  `first_not_null(${column}) ${as}_first, last_not_null(${column}) ${as}_last, min(${column}) ${as}_min, max(${column}) ${as}_max`;

function sampled(table: string, aggregates: string, q: BboQuery): string {
  return `SELECT cast(ts_recv AS LONG) bucket_us, * FROM (SELECT ts_recv, ${aggregates} FROM ${table} WHERE ${where(q)} SAMPLE BY ${sampleUnit(q.everyNs)} ALIGN TO CALENDAR)
    ORDER BY ts_recv LIMIT ${Math.trunc(q.limit)}`;
}

/** A bucket's start, in ns (ts_recv is a µs TIMESTAMP). */
const startOf = (r: Record<string, unknown>) => BigInt(r.bucket_us as number) * 1000n;

export async function bbo(rows: Rows, q: BboQuery): Promise<BboBucket[]> {
  const [books, trades] = await Promise.all([
    rows(sampled('book_snapshots', `count() n, ${span('best_bid_px', 'bid')}, ${span('best_ask_px', 'ask')}`, q)),
    rows(sampled('trades', `count() n, sum(size) volume, ${span('price', 'px')}`, q)),
  ]);
  return joinBuckets(
    books.map((r) => ({
      ts: startOf(r), snapshots: Number(r.n),
      bid: spanOf(r.bid_first, r.bid_last, r.bid_min, r.bid_max), ask: spanOf(r.ask_first, r.ask_last, r.ask_min, r.ask_max),
    })),
    trades.map((r) => ({ ts: startOf(r), trades: { count: Number(r.n), volume: Number(r.volume), price: spanOf(r.px_first, r.px_last, r.px_min, r.px_max) } })),
    q.limit,
  );
}
