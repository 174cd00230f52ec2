/**
 * The L3 reads (L3Reads) on QuestDB's mbo_events and order_checkpoints, over
 * whatever runs a query: the store passes its own. 64-bit integers are
 * selected as strings (a JSON number above 2^53 loses digits); timestamps
 * come back as the query function gives them (nsValue).
 */
import { UNDEF_PRICE } from '../../dbn/constants.js';
import type { CheckpointEntry, Checkpoint } from '../../book/l3.js';
import type { MboEventBuffer, MboEventFields } from '../../book/event-buffer.js';
import type { BookRef, L3Reads } from '../port.js';
import { LATEST, eventsAfter, wholeCheckpoint, type CheckpointHead } from '../l3.js';
import { L3_COL as C, MBO_EVENTS, ORDER_CHECKPOINTS } from './mbo.js';
import { nsLiteral, nsOf, quote } from './rows.js';

/** Runs one SQL query: its rows, columns by position. */
export type Query = (sql: string) => Promise<unknown[][]>;

/** Checkpoint heads a lookup reads back from its instant: the latest whole one is almost always the first. */
const HEADS = 3;
/** Events a book lookup reads back from its instant to find the latest book. */
const LATEST_ROWS = 8;

const LONG_NULL = -(2n ** 63n);

/** A timestamp as the query function gives it: an ISO string from /exec, or ns as a bigint or digits. */
export function nsValue(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') return /^\d+$/.test(v) ? BigInt(v) : nsOf(v);
  throw new TypeError(`not a timestamp: ${String(v)}`);
}

/** A LONG selected as a string (or given as a bigint), as the i64 it holds; null stays null. */
function longValue(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  return BigInt(v as string | bigint);
}

/** order_id back to the u64 it was: its LONG bit pattern, LONG's NULL being 2^63. */
export const orderIdOf = (v: unknown): bigint => BigInt.asUintN(64, longValue(v) ?? LONG_NULL);

/** A u64 order id as the LONG condition that finds it. */
function orderIdCondition(orderId: bigint): string {
  const signed = BigInt.asIntN(64, orderId);
  return signed === LONG_NULL ? `${C.orderId} = NULL` : `${C.orderId} = ${signed}`;
}

/**
 * ` AND ts_recv <= at`, or nothing when `at` is past what a TIMESTAMP_NS
 * holds (2262): "the latest" is asked for as the last u64 instant.
 */
const upTo = (at: bigint) => (at >= 2n ** 63n ? '' : ` AND ${C.tsRecv} <= ${nsLiteral(at)}`);

/** The conditions that select one book's rows. */
const bookWhere = (b: BookRef) => `${C.symbol} = ${quote(b.symbol)} AND ${C.instrumentId} = ${b.instrumentId} AND ${C.publisherId} = ${b.publisherId}`;

export const EVENT_SELECT = [
  C.tsRecv, C.tsEvent, C.publisherId, C.instrumentId, C.action, C.side, `cast(${C.price} AS STRING)`, C.size, C.channelId,
  `cast(${C.orderId} AS STRING)`, C.flags, C.tsInDelta, C.sequence, C.subSequence,
].join(', ');

/** One row of EVENT_SELECT as the record's fields. */
export function eventOf(r: unknown[]): MboEventFields {
  return {
    tsRecv: nsValue(r[0]), tsEvent: nsValue(r[1]), publisherId: Number(r[2]), instrumentId: Number(r[3]),
    action: String(r[4]).charCodeAt(0), side: String(r[5]).charCodeAt(0), price: longValue(r[6]) ?? UNDEF_PRICE,
    size: Number(r[7]), channelId: Number(r[8]), orderId: orderIdOf(r[9]), flags: Number(r[10]), tsInDelta: Number(r[11]),
    sequence: Number(r[12]), subSequence: Number(r[13]),
  };
}

export class QuestDbL3Reads implements L3Reads {
  constructor(private readonly query: Query) {}

  async latestBook(symbol: string, at: bigint | undefined, publisherId?: number): Promise<BookRef | null> {
    const where = [`${C.symbol} = ${quote(symbol)}`];
    if (publisherId !== undefined) where.push(`${C.publisherId} = ${Math.trunc(publisherId)}`);
    const rows = await this.query(`SELECT ${C.tsRecv}, ${C.instrumentId}, ${C.publisherId}, ${C.sequence}, ${C.subSequence} FROM ${MBO_EVENTS}
      WHERE ${where.join(' AND ')}${upTo(at ?? LATEST)} ORDER BY ${C.tsRecv} DESC LIMIT ${LATEST_ROWS}`);
    if (rows.length === 0) return null;
    // Among the rows of the latest instant, the last in key order.
    const keyed = rows.map((r) => ({ ts: nsValue(r[0]), instrumentId: Number(r[1]), publisherId: Number(r[2]), sequence: Number(r[3]), sub: Number(r[4]) }));
    const latest = keyed.filter((k) => k.ts === keyed[0].ts)
      .sort((a, b) => a.instrumentId - b.instrumentId || a.publisherId - b.publisherId || a.sequence - b.sequence || a.sub - b.sub).at(-1)!;
    return { symbol, instrumentId: latest.instrumentId, publisherId: latest.publisherId };
  }

  async checkpoint(book: BookRef, at: bigint): Promise<Checkpoint | null> {
    const heads: CheckpointHead[] = (await this.query(`SELECT ${C.tsRecv}, ${C.sequence}, ${C.subSequence}, ${C.size} FROM ${ORDER_CHECKPOINTS}
      WHERE ${bookWhere(book)} AND ${C.rank} = 0${upTo(at)} ORDER BY ${C.tsRecv} DESC LIMIT ${HEADS}`))
      .map((r) => ({ tsRecv: nsValue(r[0]), sequence: Number(r[1]), subSequence: Number(r[2]), rows: Number(r[3]) }));
    return wholeCheckpoint(book, heads, async (head) => {
      const rows = await this.query(`SELECT ${C.rank}, ${C.kind}, ${C.side}, cast(${C.price} AS STRING), ${C.size}, cast(${C.orderId} AS STRING), ${C.orderTsRecv}
        FROM ${ORDER_CHECKPOINTS} WHERE ${bookWhere(book)} AND ${C.tsRecv} = ${nsLiteral(head.tsRecv)}
        AND ${C.sequence} = ${head.sequence} AND ${C.subSequence} = ${head.subSequence} AND ${C.rank} > 0`);
      rows.sort((a, b) => Number(a[0]) - Number(b[0]));
      return rows.map((r): CheckpointEntry => {
        const order = r[1] === 'order';
        return {
          kind: order ? 'order' : 'tob', side: r[2] as 'B' | 'A', price: Number(longValue(r[3])), size: Number(r[4]),
          orderId: order ? orderIdOf(r[5]) : 0n, queuedAt: order ? nsValue(r[6]) : 0n,
        };
      });
    });
  }

  async events(book: BookRef, after: Checkpoint | null, until: bigint): Promise<MboEventBuffer> {
    const from = after === null ? '' : ` AND ${C.tsRecv} >= ${nsLiteral(after.tsRecv)}`;
    const rows = await this.query(`SELECT ${EVENT_SELECT} FROM ${MBO_EVENTS} WHERE ${bookWhere(book)}${from}${upTo(until)}`);
    return eventsAfter(rows.map(eventOf), after);
  }

  async orderBooks(orderId: bigint, symbol: string, publisherId?: number): Promise<Array<{ book: BookRef; first: bigint; last: bigint }>> {
    const where = [`${C.symbol} = ${quote(symbol)}`, orderIdCondition(orderId)];
    if (publisherId !== undefined) where.push(`${C.publisherId} = ${Math.trunc(publisherId)}`);
    const rows = await this.query(`SELECT ${C.instrumentId}, ${C.publisherId}, min(${C.tsRecv}), max(${C.tsRecv}) FROM ${MBO_EVENTS}
      WHERE ${where.join(' AND ')} ORDER BY 1, 2`);
    return rows.map((r) => ({ book: { symbol, instrumentId: Number(r[0]), publisherId: Number(r[1]) }, first: nsValue(r[2]), last: nsValue(r[3]) }));
  }
}
