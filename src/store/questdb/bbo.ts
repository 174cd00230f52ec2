import { joinBuckets, spanOf } from '../bbo.js';
import { StoreError, type BboBucket, type BboQuery } from '../port.js';
import { nsLiteral, nsOf, quote } from './rows.js';
import { COL, SNAPSHOTS, TRADES } from './schema.js';

/**
 * A BBO series on QuestDB: SAMPLE BY over the designated ts_recv (a
 * TIMESTAMP_NS), aligned to the calendar (UTC midnight), which for bucket
 * sizes that divide a day is the epoch alignment DuckDB's arithmetic gives.
 * Bounds are ns literals, so they cut between rows one ns apart, and bucket
 * starts come back as TIMESTAMP_NS text, read exactly (a LONG in /exec's JSON
 * loses digits above 2^53).
 */
type Rows = (sql: string) => Promise<unknown[][]>;

const UNITS: Array<[string, bigint]> = [['d', 86_400_000_000_000n], ['h', 3_600_000_000_000n], ['m', 60_000_000_000n], ['s', 1_000_000_000n], ['T', 1_000_000n]];

/** SAMPLE BY's "n{unit}" for a bucket size in ns (a whole number of ms). */
export function sampleUnit(everyNs: bigint): string {
  for (const [unit, ns] of UNITS) if (everyNs > 0n && everyNs % ns === 0n) return `${everyNs / ns}${unit}`;
  throw new StoreError('STORE_READ_FAILED', `a BBO bucket must be a whole number of milliseconds, got ${everyNs} ns`);
}

function where(q: BboQuery): string {
  const parts = [`${COL.symbol} = ${quote(q.symbol)}`];
  if (q.from !== undefined) parts.push(`${COL.tsRecv} >= ${nsLiteral(q.from)}`);
  if (q.to !== undefined) parts.push(`${COL.tsRecv} <= ${nsLiteral(q.to)}`);
  if (q.publisherId !== undefined) parts.push(`${COL.publisherId} = ${Math.trunc(q.publisherId)}`);
  return parts.join(' AND ');
}

/** A column's first and last non-null value, least and greatest: four columns, in that order. */
const span = (column: string) => `first_not_null(${column}), last_not_null(${column}), min(${column}), max(${column})`;

/** Bucket start, then `aggregates`, one row per non-empty bucket in time order. */
function sampled(table: string, aggregates: string, q: BboQuery): string {
  return `SELECT ${COL.tsRecv}, ${aggregates} FROM ${table} WHERE ${where(q)}
    SAMPLE BY ${sampleUnit(q.everyNs)} ALIGN TO CALENDAR ORDER BY ${COL.tsRecv} LIMIT ${Math.trunc(q.limit)}`;
}

export const bookBucketsSql = (q: BboQuery) => sampled(SNAPSHOTS, `count(), ${span(COL.bestBidPx)}, ${span(COL.bestAskPx)}`, q);
export const tradeBucketsSql = (q: BboQuery) => sampled(TRADES, `count(), sum(${COL.size}), ${span(COL.price)}`, q);

export async function bbo(rows: Rows, q: BboQuery): Promise<BboBucket[]> {
  const [books, trades] = await Promise.all([rows(bookBucketsSql(q)), rows(tradeBucketsSql(q))]);
  return joinBuckets(
    books.map((r) => ({
      ts: nsOf(r[0] as string), snapshots: Number(r[1]),
      bid: spanOf(r[2], r[3], r[4], r[5]), ask: spanOf(r[6], r[7], r[8], r[9]),
    })),
    trades.map((r) => ({ ts: nsOf(r[0] as string), trades: { count: Number(r[1]), volume: Number(r[2]), price: spanOf(r[3], r[4], r[5], r[6]) } })),
    q.limit,
  );
}
