import { MBP10_RECORD_LENGTH, RType, UNDEF_PRICE, UNDEF_PRICE_HI, UNDEF_PRICE_LO } from '../dbn/constants.js';
import { ASK_PX, BID_PX, type SnapshotBuffer } from './snapshot-buffer.js';
import type { DepthSnapshot } from './snapshot.js';

/**
 * Depth snapshots in Databento's MBP shapes: JSON lines (flattened header,
 * `levels` array of {bid_px, ask_px, bid_sz, ask_sz, bid_ct, ask_ct}), CSV
 * with bid_px_00... columns, and DBN MBP-10 records (rtype 0x0A). Missing
 * levels carry UNDEF_PRICE and zero size/count, as Databento writes them.
 */

const UNDEF = UNDEF_PRICE.toString();

/** Prices are exact integer doubles (|x| < 2^53), which String() writes in full, as BigInt would. */
function px(levels: number[], i: number): string {
  return i * 3 < levels.length ? String(levels[i * 3]) : UNDEF;
}
function qty(levels: number[], i: number, field: 1 | 2): number {
  return i * 3 < levels.length ? levels[i * 3 + field] : 0;
}

/** The level (0 = best) of the triggering record's price on its side, as MBP's `depth` field. */
export function changeDepth(s: DepthSnapshot): number {
  const levels = s.side === 'B' ? s.bids : s.side === 'A' ? s.asks : null;
  if (levels === null || s.price === null) return 0;
  for (let i = 0; i < levels.length; i += 3) if (levels[i] === s.price) return i / 3;
  return 0;
}

export function mbpToJson(s: DepthSnapshot): Record<string, unknown> {
  const levels = [];
  for (let i = 0; i < s.depth; i++) {
    levels.push({
      bid_px: px(s.bids, i), ask_px: px(s.asks, i),
      bid_sz: qty(s.bids, i, 1), ask_sz: qty(s.asks, i, 1),
      bid_ct: qty(s.bids, i, 2), ask_ct: qty(s.asks, i, 2),
    });
  }
  return {
    ts_recv: s.tsRecv.toString(),
    ts_event: s.tsEvent.toString(),
    rtype: s.depth === 10 ? RType.MBP_10 : null,
    publisher_id: s.publisherId,
    instrument_id: s.instrumentId,
    action: s.action,
    side: s.side,
    depth: changeDepth(s),
    price: s.price === null ? UNDEF : String(s.price),
    size: s.size,
    flags: s.flags,
    ts_in_delta: s.tsInDelta,
    sequence: s.sequence,
    levels,
  };
}

export function mbpCsvHeader(depth: number): string {
  const cols = ['ts_recv', 'ts_event', 'rtype', 'publisher_id', 'instrument_id', 'action', 'side', 'depth', 'price', 'size', 'flags', 'ts_in_delta', 'sequence'];
  for (let i = 0; i < depth; i++) {
    const n = String(i).padStart(2, '0');
    cols.push(`bid_px_${n}`, `ask_px_${n}`, `bid_sz_${n}`, `ask_sz_${n}`, `bid_ct_${n}`, `ask_ct_${n}`);
  }
  return cols.join(',');
}

export function mbpToCsvRow(s: DepthSnapshot): string {
  const cols: Array<string | number> = [
    s.tsRecv.toString(), s.tsEvent.toString(), s.depth === 10 ? RType.MBP_10 : '', s.publisherId, s.instrumentId,
    s.action, s.side, changeDepth(s), s.price === null ? UNDEF : String(s.price), s.size, s.flags,
    s.tsInDelta, s.sequence,
  ];
  for (let i = 0; i < s.depth; i++) {
    cols.push(px(s.bids, i), px(s.asks, i), qty(s.bids, i, 1), qty(s.asks, i, 1), qty(s.bids, i, 2), qty(s.asks, i, 2));
  }
  return cols.join(',');
}

const TWO_32 = 4294967296;
const A = 65, B = 66;

/** An integer double (|x| <= 2^53) as a little-endian i64 at `o`. */
function setI64(view: DataView, o: number, x: number): void {
  const hi = Math.floor(x / TWO_32);
  view.setUint32(o, x - hi * TWO_32, true);
  view.setInt32(o + 4, hi, true);
}

/** A level size or count as MBP-10's u32, refusing what would not fit rather than wrapping it. */
function setU32(view: DataView, o: number, x: number, what: string, buf: SnapshotBuffer, i: number): void {
  if (x > 0xffffffff) {
    throw new MbpError('MBP_FIELD_OVERFLOW', `${what} ${x} at ts_recv ${buf.tsRecv(i)} does not fit MBP-10's u32 field: write --format json or csv instead`);
  }
  view.setUint32(o, x, true);
}

export class MbpError extends Error {
  constructor(readonly code: 'MBP_FIELD_OVERFLOW', message: string) {
    super(message);
  }
}

/**
 * Writes row i of `buf` (depth 10) as one DBN MBP-10 record (368 bytes) at
 * `o`, straight from the buffer's columns: the file path of `mbp --format
 * dbn` makes no object and no bigint per record.
 */
export function writeMbp10(view: DataView, o: number, buf: SnapshotBuffer, i: number): void {
  view.setUint8(o, MBP10_RECORD_LENGTH / 4);
  view.setUint8(o + 1, RType.MBP_10);
  view.setUint16(o + 2, buf.publisherId[i], true);
  view.setUint32(o + 4, buf.instrumentId[i], true);
  view.setUint32(o + 8, buf.tsEventLo[i], true);
  view.setUint32(o + 12, buf.tsEventHi[i], true);
  const price = buf.price[i];
  if (Number.isNaN(price)) {
    view.setUint32(o + 16, UNDEF_PRICE_LO, true);
    view.setUint32(o + 20, UNDEF_PRICE_HI, true);
  } else setI64(view, o + 16, price);
  view.setUint32(o + 24, buf.size[i], true);
  view.setUint8(o + 28, buf.action[i]);
  view.setUint8(o + 29, buf.side[i]);
  view.setUint8(o + 30, buf.flags[i]);
  view.setUint8(o + 31, changeLevel(buf, i));
  view.setUint32(o + 32, buf.tsRecvLo[i], true);
  view.setUint32(o + 36, buf.tsRecvHi[i], true);
  view.setInt32(o + 40, buf.tsInDelta[i], true);
  view.setUint32(o + 44, buf.sequence[i], true);
  const lv = buf.levels;
  const bid = buf.slot(i, BID_PX);
  const ask = buf.slot(i, ASK_PX);
  const d = buf.depth;
  for (let k = 0; k < 10; k++) {
    const l = o + 48 + k * 32;
    const hasBid = k < buf.bidLevels[i];
    const hasAsk = k < buf.askLevels[i];
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

/** changeDepth for row i of a buffer. */
function changeLevel(buf: SnapshotBuffer, i: number): number {
  const side = buf.side[i];
  const field = side === B ? BID_PX : side === A ? ASK_PX : -1;
  if (field === -1 || Number.isNaN(buf.price[i])) return 0;
  const run = buf.slot(i, field);
  for (let k = 0, n = buf.counts(field)[i]; k < n; k++) if (buf.levels[run + k] === buf.price[i]) return k;
  return 0;
}
