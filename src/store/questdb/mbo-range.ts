/**
 * A range of QuestDB's mbo_events in key order, for MBO replays: pages that
 * are forward scans of the designated timestamp, as the store reads
 * snapshot ranges (a page never splits an instant: the rows of its last
 * instant start the next page, unless the page is one instant, read whole),
 * their rows over the PostgreSQL wire.
 */
import type { MboChunk, RangeQuery } from '../port.js';
import { MboEventBuffer, type MboEventFields } from '../../book/event-buffer.js';
import { UNDEF_PRICE } from '../../dbn/constants.js';
import { L3_COL as C, MBO_EVENTS } from './mbo.js';
import type { DataRow } from './pg-wire.js';
import { keyOrderedRange, pageSqlOf } from './range.js';
import type { Statement } from './statement.js';

const LONG_NULL = -(2n ** 63n);

/** The mbo_events columns a range reads, in the order mboRowOf reads them (timestamps as their ns, as LONG). */
const MBO_SELECT = [
  `cast(${C.tsRecv} as long)`, `cast(${C.tsEvent} as long)`, C.publisherId, C.instrumentId, C.action, C.side, C.price, C.size, C.channelId,
  C.orderId, C.flags, C.tsInDelta, C.sequence, C.subSequence, C.symbol,
].join(', ');

/** A range page of mbo_events, as the snapshot pages are. */
export const mboPageSql = pageSqlOf(MBO_EVENTS, MBO_SELECT);

export type MboRow = MboEventFields & { symbol: string | null };

/** One row of MBO_SELECT, read off the PostgreSQL wire. A NULL price is UNDEF_PRICE; a NULL order_id is LONG's NULL, 2^63, as written. */
export function mboRowOf(r: DataRow): MboRow {
  return {
    tsRecv: r.int64(0), tsEvent: r.int64(1), publisherId: r.int32(2), instrumentId: r.int64Number(3),
    action: r.text(4).charCodeAt(0), side: r.text(5).charCodeAt(0), price: r.isNull(6) ? UNDEF_PRICE : r.int64(6),
    size: r.int64Number(7), channelId: r.int32(8), orderId: BigInt.asUintN(64, r.isNull(9) ? LONG_NULL : r.int64(9)), flags: r.int32(10),
    tsInDelta: r.int32(11), sequence: r.int64Number(12), subSequence: r.int32(13), symbol: r.isNull(14) ? null : r.text(14),
  };
}

/** Stored MBO records of a range in key order, read page by page as snapshot ranges are (./range.ts). */
export async function* readMboRange(read: (stmt: Statement) => Promise<MboRow[]>, q: RangeQuery, signal?: AbortSignal): AsyncGenerator<MboChunk> {
  for await (const rows of keyOrderedRange({ ...q, pageSize: q.pageSize ?? 4000 }, mboPageSql, read, signal)) {
    const events = new MboEventBuffer(rows.length);
    for (const r of rows) events.push(r);
    yield { events, symbols: rows.map((r) => r.symbol) };
  }
}
