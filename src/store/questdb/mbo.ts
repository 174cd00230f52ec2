/**
 * QuestDB's L3 tables and their ILP encoders: the MBO records themselves
 * (`mbo_events`) and the books' order sets at intervals (`order_checkpoints`).
 *
 * `mbo_events` keeps each record under Databento's field names and values:
 * `price` is Databento's integer in 1e-9 units (NULL for UNDEF_PRICE), not
 * book_snapshots' DOUBLE in price units, so that a record read back is the
 * record written, bit for bit, and a replay writes the file's own records.
 * `order_id` is a u64 held in a LONG as its bit pattern: ids below 2^63 (all
 * of CME's, for one) read as themselves; above it they read negative (add
 * 2^64), and 2^63 itself is LONG's NULL. `rtype` is left out: every row is
 * an MBO record (160). A row is keyed as a snapshot row is, by (ts_recv,
 * instrument_id, publisher_id, sequence, sub_sequence): `sub_sequence`
 * numbers one book's records that share ts_recv and sequence (a packet's).
 *
 * A checkpoint is a book's every order after one of its records, keyed by
 * that record's key, in rows numbered by `rank`: 0 is the `book` row (its
 * `size` says how many rows follow), then an `order` row per resting order,
 * bids then asks, levels best first, each queue front first, or a `tob` row
 * for a top-of-book level (a size and no orders). `order_ts_recv` is when
 * the order took its place in its queue.
 */
import { i64, put, u64 } from '../../encode/bytes.js';
import type { MboEventBuffer } from '../../book/event-buffer.js';
import { CHECKPOINT_KINDS, CheckpointKind, type CheckpointBuffer } from '../../book/checkpoint-buffer.js';
import { HeaderOffset, MboOffset } from '../../dbn/layout.js';
import { MBO_RECORD_LENGTH, UNDEF_PRICE_HI, UNDEF_PRICE_LO } from '../../dbn/constants.js';
import { ROW_FIXED, col, escapeName, integer, lit, tagByChar, timestampEnd, type IlpRequest, type SymbolTags } from './ilp.js';
import { PARTITION_BY } from './schema.js';

export const MBO_EVENTS = 'mbo_events';
export const ORDER_CHECKPOINTS = 'order_checkpoints';

/** Column names of the L3 tables, Databento's where the field is one of theirs. */
export const L3_COL = {
  tsRecv: 'ts_recv',
  tsEvent: 'ts_event',
  publisherId: 'publisher_id',
  instrumentId: 'instrument_id',
  action: 'action',
  side: 'side',
  price: 'price',
  size: 'size',
  channelId: 'channel_id',
  orderId: 'order_id',
  flags: 'flags',
  tsInDelta: 'ts_in_delta',
  sequence: 'sequence',
  subSequence: 'sub_sequence',
  symbol: 'symbol',
  rank: 'rank',
  kind: 'kind',
  orderTsRecv: 'order_ts_recv',
} as const;

const C = L3_COL;
const KEY = `${C.tsRecv}, ${C.instrumentId}, ${C.publisherId}, ${C.sequence}, ${C.subSequence}`;

export const L3_DDL = [
  `CREATE TABLE IF NOT EXISTS ${MBO_EVENTS} (
    ${C.tsRecv} TIMESTAMP_NS, ${C.tsEvent} TIMESTAMP_NS, ${C.publisherId} INT, ${C.instrumentId} LONG,
    ${C.action} SYMBOL, ${C.side} SYMBOL, ${C.price} LONG, ${C.size} LONG, ${C.channelId} INT, ${C.orderId} LONG,
    ${C.flags} INT, ${C.tsInDelta} INT, ${C.sequence} LONG, ${C.subSequence} INT, ${C.symbol} SYMBOL
  ) TIMESTAMP(${C.tsRecv}) PARTITION BY ${PARTITION_BY} WAL
  DEDUP UPSERT KEYS(${KEY})`,
  `CREATE TABLE IF NOT EXISTS ${ORDER_CHECKPOINTS} (
    ${C.tsRecv} TIMESTAMP_NS, ${C.publisherId} INT, ${C.instrumentId} LONG, ${C.sequence} LONG, ${C.subSequence} INT,
    ${C.symbol} SYMBOL, ${C.rank} INT, ${C.kind} SYMBOL, ${C.side} SYMBOL, ${C.price} LONG, ${C.size} LONG,
    ${C.orderId} LONG, ${C.orderTsRecv} TIMESTAMP_NS
  ) TIMESTAMP(${C.tsRecv}) PARTITION BY ${PARTITION_BY} WAL
  DEDUP UPSERT KEYS(${KEY}, ${C.rank})`,
];

const P = {
  events: escapeName(MBO_EVENTS),
  checkpoints: escapeName(ORDER_CHECKPOINTS),
  action: tagByChar(C.action),
  side: tagByChar(C.side),
  kind: CHECKPOINT_KINDS.map((k) => lit(`,${C.kind}=${k}`)),
  tsEvent: col(C.tsEvent, true),
  publisherId: col(C.publisherId),
  instrumentId: col(C.instrumentId),
  price: col(C.price),
  size: col(C.size),
  channelId: col(C.channelId),
  orderId: col(C.orderId),
  flags: col(C.flags),
  tsInDelta: col(C.tsInDelta),
  sequence: col(C.sequence),
  subSequence: col(C.subSequence),
  rank: col(C.rank),
  firstPublisherId: col(C.publisherId, true),
  orderTsRecv: col(C.orderTsRecv),
};

/** An i64 column's value from its halves (hi unsigned): `-123i`. */
function long(o: Buffer, p: number, hi: number, lo: number): number {
  p = i64(o, p, hi, lo);
  o[p] = 0x69; // i
  return p + 1;
}

/** Appends up to `maxRows` MBO records from `from` while they fit; returns how many went in. */
export function appendMboEvents(req: IlpRequest, b: MboEventBuffer, from: number, maxRows: number, tags: SymbolTags): number {
  const v = b.view;
  let p = req.p;
  let i = from;
  const stop = Math.min(b.length, from + maxRows);
  for (; i < stop; i++) {
    const r = i * MBO_RECORD_LENGTH;
    const tag = tags.of(v.getUint32(r + HeaderOffset.instrumentId, true));
    req.p = p;
    if (!req.fits(ROW_FIXED + 2 * (tag === null ? 0 : tag.length))) break;
    const o = req.buf;
    p = put(o, p, P.events);
    if (tag !== null) p = put(o, p, tag);
    p = put(o, p, P.action[v.getUint8(r + MboOffset.action)]);
    p = put(o, p, P.side[v.getUint8(r + MboOffset.side)]);
    p = put(o, p, P.tsEvent);
    p = u64(o, p, v.getUint32(r + HeaderOffset.tsEventHi, true), v.getUint32(r + HeaderOffset.tsEvent, true));
    o[p++] = 0x6e; // n
    p = integer(o, put(o, p, P.publisherId), v.getUint16(r + HeaderOffset.publisherId, true));
    p = integer(o, put(o, p, P.instrumentId), v.getUint32(r + HeaderOffset.instrumentId, true));
    const priceHi = v.getUint32(r + MboOffset.priceHi, true);
    const priceLo = v.getUint32(r + MboOffset.price, true);
    if (priceHi !== UNDEF_PRICE_HI || priceLo !== UNDEF_PRICE_LO) p = long(o, put(o, p, P.price), priceHi, priceLo);
    p = integer(o, put(o, p, P.size), v.getUint32(r + MboOffset.size, true));
    p = integer(o, put(o, p, P.channelId), v.getUint8(r + MboOffset.channelId));
    p = long(o, put(o, p, P.orderId), v.getUint32(r + MboOffset.orderIdHi, true), v.getUint32(r + MboOffset.orderId, true));
    p = integer(o, put(o, p, P.flags), v.getUint8(r + MboOffset.flags));
    p = integer(o, put(o, p, P.tsInDelta), v.getInt32(r + MboOffset.tsInDelta, true));
    p = integer(o, put(o, p, P.sequence), v.getUint32(r + MboOffset.sequence, true));
    p = integer(o, put(o, p, P.subSequence), b.subSequence[i]);
    p = timestampEnd(o, p, v.getUint32(r + MboOffset.tsRecvHi, true), v.getUint32(r + MboOffset.tsRecv, true));
  }
  req.p = p;
  return i - from;
}

/** As appendMboEvents, for checkpoint rows. */
export function appendCheckpoints(req: IlpRequest, b: CheckpointBuffer, from: number, maxRows: number, tags: SymbolTags): number {
  let p = req.p;
  let i = from;
  const stop = Math.min(b.length, from + maxRows);
  for (; i < stop; i++) {
    const tag = tags.of(b.instrumentId(i));
    req.p = p;
    if (!req.fits(ROW_FIXED + 2 * (tag === null ? 0 : tag.length))) break;
    const o = req.buf;
    const kind = b.kind(i);
    p = put(o, p, P.checkpoints);
    if (tag !== null) p = put(o, p, tag);
    p = put(o, p, P.kind[kind]);
    p = put(o, p, P.side[b.side(i)]);
    p = integer(o, put(o, p, P.firstPublisherId), b.publisherId(i));
    p = integer(o, put(o, p, P.instrumentId), b.instrumentId(i));
    p = integer(o, put(o, p, P.sequence), b.sequence(i));
    p = integer(o, put(o, p, P.subSequence), b.subSequence(i));
    p = integer(o, put(o, p, P.rank), b.rank(i));
    const price = b.price(i);
    if (!Number.isNaN(price)) p = integer(o, put(o, p, P.price), price);
    p = integer(o, put(o, p, P.size), b.size(i));
    if (kind === CheckpointKind.order) {
      p = long(o, put(o, p, P.orderId), b.orderIdHi(i), b.orderIdLo(i));
      p = put(o, p, P.orderTsRecv);
      p = u64(o, p, b.queuedHi(i), b.queuedLo(i));
      o[p++] = 0x6e; // n
    }
    p = timestampEnd(o, p, b.tsRecvHi(i), b.tsRecvLo(i));
  }
  req.p = p;
  return i - from;
}
