import { RType, UNDEF_PRICE, UNDEF_PRICE_HI, UNDEF_PRICE_LO, mbpRecordLength } from '../dbn/constants.js';
import { BooktapeError } from '../errors.js';
import { ByteChunks, bytesOf, comma, CSV_CHAR, field, FLUSH_BYTES, int, int64, JSON_CHAR, put } from './bytes.js';
import { ASK_PX, BID_PX, type SnapshotBuffer } from '../book/snapshot-buffer.js';
import { HeaderOffset } from '../dbn/layout.js';
import { setI64, setMbpU32, setUndefPrice } from '../dbn/encode.js';
import type { DepthSnapshot } from '../book/snapshot.js';

/**
 * Depth snapshots in Databento's MBP shapes: JSON lines (flattened header,
 * `levels` array of {bid_px, ask_px, bid_sz, ask_sz, bid_ct, ask_ct}), CSV
 * with bid_px_00... columns, and DBN MBP-1 and MBP-10 records (rtype 0x01, 0x0A). Missing
 * levels carry UNDEF_PRICE and zero size/count, as Databento writes them.
 */

export function mbpCsvHeader(depth: number): string {
  const cols = ['ts_recv', 'ts_event', 'rtype', 'publisher_id', 'instrument_id', 'action', 'side', 'depth', 'price', 'size', 'flags', 'ts_in_delta', 'sequence'];
  for (let i = 0; i < depth; i++) {
    const n = String(i).padStart(2, '0');
    cols.push(`bid_px_${n}`, `ask_px_${n}`, `bid_sz_${n}`, `ask_sz_${n}`, `bid_ct_${n}`, `ask_ct_${n}`);
  }
  return cols.join(',');
}

const A = 65, B = 66;

/** A level size or count as MBP's u32, refusing what would not fit rather than wrapping it. */
function setU32(view: DataView, o: number, x: number, what: string, buf: SnapshotBuffer, i: number): void {
  if (x > 0xffffffff) {
    throw new MbpError('MBP_FIELD_OVERFLOW', `${what} ${x} at ts_recv ${buf.tsRecv(i)} does not fit MBP's u32 field: write --format json or csv instead`);
  }
  view.setUint32(o, x, true);
}

/** A value MBP's binary layout cannot hold: the input is fine, the chosen format is not. */
export class MbpError extends BooktapeError {
  constructor(code: 'MBP_FIELD_OVERFLOW', message: string) {
    super(code, 'invalid', message);
  }
}

/**
 * Writes row i of `buf` (depth 1 or 10) as one DBN MBP-1 or MBP-10 record
 * (80 or 368 bytes) at `o`, straight from the buffer's rows: the file
 * path of `mbp --format dbn` makes no object and no bigint per record.
 */
export function writeMbpRecord(view: DataView, o: number, buf: SnapshotBuffer, i: number): void {
  const levels = buf.depth as 1 | 10;
  view.setUint8(o, mbpRecordLength(levels) / 4);
  view.setUint8(o + HeaderOffset.rtype, levels === 10 ? RType.MBP_10 : RType.MBP_1);
  view.setUint16(o + HeaderOffset.publisherId, buf.publisherId(i), true);
  view.setUint32(o + HeaderOffset.instrumentId, buf.instrumentId(i), true);
  view.setUint32(o + HeaderOffset.tsEvent, buf.tsEventLo(i), true);
  view.setUint32(o + HeaderOffset.tsEventHi, buf.tsEventHi(i), true);
  const price = buf.price(i);
  if (Number.isNaN(price)) {
    view.setUint32(o + 16, UNDEF_PRICE_LO, true);
    view.setUint32(o + 20, UNDEF_PRICE_HI, true);
  } else setI64(view, o + 16, price);
  view.setUint32(o + 24, buf.size(i), true);
  view.setUint8(o + 28, buf.action(i));
  view.setUint8(o + 29, buf.side(i));
  view.setUint8(o + 30, buf.flags(i));
  view.setUint8(o + 31, changeLevel(buf, i));
  view.setUint32(o + 32, buf.tsRecvLo(i), true);
  view.setUint32(o + 36, buf.tsRecvHi(i), true);
  view.setInt32(o + 40, buf.tsInDelta(i), true);
  view.setUint32(o + 44, buf.sequence(i), true);
  const lv = buf.rows;
  const bid = buf.slot(i, BID_PX);
  const ask = buf.slot(i, ASK_PX);
  const d = buf.depth;
  for (let k = 0; k < levels; k++) {
    const l = o + 48 + k * 32;
    const hasBid = k < buf.bidLevels(i);
    const hasAsk = k < buf.askLevels(i);
    if (hasBid) setI64(view, l, lv[bid + k]);
    else { view.setUint32(l, UNDEF_PRICE_LO, true); view.setUint32(l + 4, UNDEF_PRICE_HI, true); }
    if (hasAsk) setI64(view, l + 8, lv[ask + k]);
    else { view.setUint32(l + 8, UNDEF_PRICE_LO, true); view.setUint32(l + 12, UNDEF_PRICE_HI, true); }
    setU32(view, l + 16, hasBid ? lv[bid + d + k] : 0, 'bid size', buf, i);
    setU32(view, l + 20, hasAsk ? lv[ask + d + k] : 0, 'ask size', buf, i);
    setU32(view, l + 24, hasBid ? lv[bid + 2 * d + k] : 0, 'bid count', buf, i);
    setU32(view, l + 28, hasAsk ? lv[ask + 2 * d + k] : 0, 'ask count', buf, i);
  }
}

/** MBP's `depth`: the level (0 = best) of the triggering record's price on its side, 0 when it is not there. */
function changeLevel(buf: SnapshotBuffer, i: number): number {
  const side = buf.side(i);
  const field = side === B ? BID_PX : side === A ? ASK_PX : -1;
  if (field === -1 || Number.isNaN(buf.price(i))) return 0;
  const run = buf.slot(i, field);
  for (let k = 0, n = buf.levelCount(i, field); k < n; k++) if (buf.rows[run + k] === buf.price(i)) return k;
  return 0;
}

const UNDEF = bytesOf(UNDEF_PRICE.toString());
const QUOTED_UNDEF = bytesOf(`"${UNDEF_PRICE}"`);
const J_TS_RECV = bytesOf('{"ts_recv":'), J_TS_EVENT = bytesOf(',"ts_event":'), J_RTYPE = bytesOf(',"rtype":'), J_PUBLISHER = bytesOf(',"publisher_id":');
const J_INSTRUMENT = bytesOf(',"instrument_id":'), J_ACTION = bytesOf(',"action":'), J_SIDE = bytesOf(',"side":'), J_DEPTH = bytesOf(',"depth":');
const J_PRICE = bytesOf(',"price":'), J_SIZE = bytesOf(',"size":'), J_FLAGS = bytesOf(',"flags":'), J_DELTA = bytesOf(',"ts_in_delta":');
const J_SEQUENCE = bytesOf(',"sequence":'), J_LEVELS = bytesOf(',"levels":['), J_END = bytesOf(']}\n'), NULL = bytesOf('null'), TEN = bytesOf('10');
const J_BID_PX = bytesOf('{"bid_px":'), J_ASK_PX = bytesOf(',"ask_px":'), J_BID_SZ = bytesOf(',"bid_sz":');
const J_ASK_SZ = bytesOf(',"ask_sz":'), J_BID_CT = bytesOf(',"bid_ct":'), J_ASK_CT = bytesOf(',"ask_ct":');
/** Room for a row apart from its levels, and per level (each field at most 22 bytes and its key). */
const ROW_BYTES = 512;
const LEVEL_BYTES = 6 * 34;

/**
 * MBP json lines and csv rows in Databento's names and order, written as
 * bytes straight from the snapshot rows (like the replay frames): levels
 * bid_px, ask_px, bid_sz, ask_sz, bid_ct, ask_ct; prices and u64s as integer
 * strings; missing levels UNDEF_PRICE with zero size and count.
 */
export class MbpTextWriter extends ByteChunks {
  constructor(private readonly format: 'json' | 'csv') {
    super(FLUSH_BYTES);
  }

  /** Appends row i of `buf` as one line. */
  row(buf: SnapshotBuffer, i: number): void {
    this.reserve(ROW_BYTES + buf.depth * LEVEL_BYTES);
    const json = this.format === 'json';
    const chars = json ? JSON_CHAR : CSV_CHAR;
    const o = this.chunk;
    let p = this.pos;
    if (json) p = put(o, p, J_TS_RECV);
    p = int64(o, p, buf.tsRecvHi(i), buf.tsRecvLo(i), false, json);
    p = field(o, p, json, J_TS_EVENT);
    p = int64(o, p, buf.tsEventHi(i), buf.tsEventLo(i), false, json);
    p = field(o, p, json, J_RTYPE);
    // Databento's MBP schemas are MBP-1 (rtype 0x01) and MBP-10 (0x0A); other depths have no rtype.
    if (buf.depth === 10) p = put(o, p, TEN);
    else if (buf.depth === 1) o[p++] = 0x31; // 1
    else if (json) p = put(o, p, NULL);
    p = field(o, p, json, J_PUBLISHER);
    p = int(o, p, buf.publisherId(i));
    p = field(o, p, json, J_INSTRUMENT);
    p = int(o, p, buf.instrumentId(i));
    p = field(o, p, json, J_ACTION);
    p = put(o, p, chars[buf.action(i)]);
    p = field(o, p, json, J_SIDE);
    p = put(o, p, chars[buf.side(i)]);
    p = field(o, p, json, J_DEPTH);
    p = int(o, p, changeLevel(buf, i));
    p = field(o, p, json, J_PRICE);
    p = price(o, p, buf.price(i), json);
    p = field(o, p, json, J_SIZE);
    p = int(o, p, buf.size(i));
    p = field(o, p, json, J_FLAGS);
    p = int(o, p, buf.flags(i));
    p = field(o, p, json, J_DELTA);
    p = int(o, p, buf.tsInDelta(i));
    p = field(o, p, json, J_SEQUENCE);
    p = int(o, p, buf.sequence(i));
    if (json) p = put(o, p, J_LEVELS);
    const bids = buf.bidLevels(i);
    const asks = buf.askLevels(i);
    const lv = buf.rows;
    const d = buf.depth;
    const bid = buf.slot(i, BID_PX);
    const ask = buf.slot(i, ASK_PX);
    for (let k = 0; k < d; k++) {
      if (json && k > 0) p = comma(o, p);
      const b = k < bids;
      const a = k < asks;
      // MBP's order: bid_px, ask_px, bid_sz, ask_sz, bid_ct, ask_ct.
      p = field(o, p, json, J_BID_PX);
      p = price(o, p, b ? lv[bid + k] : NaN, json);
      p = field(o, p, json, J_ASK_PX);
      p = price(o, p, a ? lv[ask + k] : NaN, json);
      p = field(o, p, json, J_BID_SZ);
      p = int(o, p, b ? lv[bid + d + k] : 0);
      p = field(o, p, json, J_ASK_SZ);
      p = int(o, p, a ? lv[ask + d + k] : 0);
      p = field(o, p, json, J_BID_CT);
      p = int(o, p, b ? lv[bid + 2 * d + k] : 0);
      p = field(o, p, json, J_ASK_CT);
      p = int(o, p, a ? lv[ask + 2 * d + k] : 0);
      if (json) o[p++] = 0x7d; // }
    }
    if (json) p = put(o, p, J_END);
    else o[p++] = 0x0a;
    if (p > o.length) {
      // Past the estimate (only a value outside the fast paths can do that):
      // a typed array drops writes out of range, so write it again with room.
      this.reserve(p - this.pos);
      this.row(buf, i);
      return;
    }
    this.pos = p;
  }
  /**
   * Appends one DBN MBP-1 or MBP-10 record at `at` as one line, straight from
   * its bytes: what row() writes for the snapshot the record was made from
   * (`mbp --format dbn` output reads back as `mbp --format json` wrote it),
   * with the record's own `depth` field, and prices exact from their halves.
   */
  record(v: DataView, at: number): void {
    const levels = v.getUint8(at + HeaderOffset.rtype) === RType.MBP_10 ? 10 : 1;
    this.reserve(ROW_BYTES + levels * LEVEL_BYTES);
    const json = this.format === 'json';
    const chars = json ? JSON_CHAR : CSV_CHAR;
    const o = this.chunk;
    let p = this.pos;
    if (json) p = put(o, p, J_TS_RECV);
    p = int64(o, p, v.getUint32(at + 36, true), v.getUint32(at + 32, true), false, json);
    p = field(o, p, json, J_TS_EVENT);
    p = int64(o, p, v.getUint32(at + 12, true), v.getUint32(at + 8, true), false, json);
    p = field(o, p, json, J_RTYPE);
    p = int(o, p, levels);
    p = field(o, p, json, J_PUBLISHER);
    p = int(o, p, v.getUint16(at + HeaderOffset.publisherId, true));
    p = field(o, p, json, J_INSTRUMENT);
    p = int(o, p, v.getUint32(at + HeaderOffset.instrumentId, true));
    p = field(o, p, json, J_ACTION);
    p = put(o, p, chars[v.getUint8(at + 28)]);
    p = field(o, p, json, J_SIDE);
    p = put(o, p, chars[v.getUint8(at + 29)]);
    p = field(o, p, json, J_DEPTH);
    p = int(o, p, v.getUint8(at + 31));
    p = field(o, p, json, J_PRICE);
    p = int64(o, p, v.getUint32(at + 20, true), v.getUint32(at + 16, true), true, json);
    p = field(o, p, json, J_SIZE);
    p = int(o, p, v.getUint32(at + 24, true));
    p = field(o, p, json, J_FLAGS);
    p = int(o, p, v.getUint8(at + 30));
    p = field(o, p, json, J_DELTA);
    p = int(o, p, v.getInt32(at + 40, true));
    p = field(o, p, json, J_SEQUENCE);
    p = int(o, p, v.getUint32(at + 44, true));
    if (json) p = put(o, p, J_LEVELS);
    for (let k = 0; k < levels; k++) {
      const l = at + 48 + 32 * k;
      if (json && k > 0) p = comma(o, p);
      p = field(o, p, json, J_BID_PX);
      p = int64(o, p, v.getUint32(l + 4, true), v.getUint32(l, true), true, json);
      p = field(o, p, json, J_ASK_PX);
      p = int64(o, p, v.getUint32(l + 12, true), v.getUint32(l + 8, true), true, json);
      p = field(o, p, json, J_BID_SZ);
      p = int(o, p, v.getUint32(l + 16, true));
      p = field(o, p, json, J_ASK_SZ);
      p = int(o, p, v.getUint32(l + 20, true));
      p = field(o, p, json, J_BID_CT);
      p = int(o, p, v.getUint32(l + 24, true));
      p = field(o, p, json, J_ASK_CT);
      p = int(o, p, v.getUint32(l + 28, true));
      if (json) o[p++] = 0x7d; // }
    }
    if (json) p = put(o, p, J_END);
    else o[p++] = 0x0a;
    this.pos = p;
  }
}

/** A price in 1e-9 units as an integer (quoted in json); NaN is UNDEF_PRICE. */
function price(o: Buffer, p: number, nanos: number, json: boolean): number {
  if (Number.isNaN(nanos)) return put(o, p, json ? QUOTED_UNDEF : UNDEF);
  if (json) o[p++] = 0x22;
  p = int(o, p, nanos);
  if (json) o[p++] = 0x22;
  return p;
}

/** DBN's MBP schemas: MBP-1 and MBP-10. */
export type MbpLevels = 1 | 10;

/**
 * Writes `s` as one MBP record (80 or 368 bytes) at `o`. Missing levels are
 * UNDEF_PRICE with zero size and count; `depth` is the level of the trigger's
 * price on its side among the first `levels`, 0 when it is not there (as
 * book/mbp.ts computes it from the engine's rows).
 */
export function writeMbpSnapshot(view: DataView, o: number, s: DepthSnapshot, levels: MbpLevels): void {
  view.setUint8(o, mbpRecordLength(levels) / 4);
  view.setUint8(o + HeaderOffset.rtype, levels === 10 ? RType.MBP_10 : RType.MBP_1);
  view.setUint16(o + HeaderOffset.publisherId, s.publisherId, true);
  view.setUint32(o + HeaderOffset.instrumentId, s.instrumentId, true);
  view.setBigUint64(o + HeaderOffset.tsEvent, s.tsEvent, true);
  if (s.price === null) setUndefPrice(view, o + 16);
  else setI64(view, o + 16, s.price);
  view.setUint32(o + 24, s.size, true);
  view.setUint8(o + 28, s.action.charCodeAt(0));
  view.setUint8(o + 29, s.side.charCodeAt(0));
  view.setUint8(o + 30, s.flags);
  const side = s.side === 'B' ? s.bids : s.side === 'A' ? s.asks : null;
  let change = 0;
  if (side !== null && s.price !== null) {
    for (let k = 0, n = Math.min(levels, side.length / 3); k < n; k++) {
      if (side[3 * k] === s.price) {
        change = k;
        break;
      }
    }
  }
  view.setUint8(o + 31, change);
  view.setBigUint64(o + 32, s.tsRecv, true);
  view.setInt32(o + 40, s.tsInDelta, true);
  view.setUint32(o + 44, s.sequence, true);
  for (let k = 0; k < levels; k++) {
    const l = o + 48 + k * 32;
    const hasBid = 3 * k < s.bids.length;
    const hasAsk = 3 * k < s.asks.length;
    if (hasBid) setI64(view, l, s.bids[3 * k]);
    else setUndefPrice(view, l);
    if (hasAsk) setI64(view, l + 8, s.asks[3 * k]);
    else setUndefPrice(view, l + 8);
    setMbpU32(view, l + 16, hasBid ? s.bids[3 * k + 1] : 0);
    setMbpU32(view, l + 20, hasAsk ? s.asks[3 * k + 1] : 0);
    setMbpU32(view, l + 24, hasBid ? s.bids[3 * k + 2] : 0);
    setMbpU32(view, l + 28, hasAsk ? s.asks[3 * k + 2] : 0);
  }
}
