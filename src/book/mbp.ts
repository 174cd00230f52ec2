import { MBP10_RECORD_LENGTH, RType, UNDEF_PRICE } from '../dbn/constants.js';
import type { DepthSnapshot } from './snapshot.js';

/**
 * Depth snapshots in Databento's MBP shapes: JSON lines (flattened header,
 * `levels` array of {bid_px, ask_px, bid_sz, ask_sz, bid_ct, ask_ct}), CSV
 * with bid_px_00... columns, and DBN MBP-10 records (rtype 0x0A). Missing
 * levels carry UNDEF_PRICE and zero size/count, as Databento writes them.
 */

const UNDEF = UNDEF_PRICE.toString();

function px(levels: number[], i: number): string {
  return i * 3 < levels.length ? BigInt(levels[i * 3]).toString() : UNDEF;
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
    price: s.price === null ? UNDEF : BigInt(s.price).toString(),
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
    s.action, s.side, changeDepth(s), s.price === null ? UNDEF : BigInt(s.price).toString(), s.size, s.flags,
    s.tsInDelta, s.sequence,
  ];
  for (let i = 0; i < s.depth; i++) {
    cols.push(px(s.bids, i), px(s.asks, i), qty(s.bids, i, 1), qty(s.asks, i, 1), qty(s.bids, i, 2), qty(s.asks, i, 2));
  }
  return cols.join(',');
}

/** Writes one DBN MBP-10 record (368 bytes) at `o`. Only for depth 10. */
export function writeMbp10(buf: Buffer, o: number, s: DepthSnapshot): void {
  buf.fill(0, o, o + MBP10_RECORD_LENGTH);
  buf.writeUInt8(MBP10_RECORD_LENGTH / 4, o);
  buf.writeUInt8(RType.MBP_10, o + 1);
  buf.writeUInt16LE(s.publisherId, o + 2);
  buf.writeUInt32LE(s.instrumentId, o + 4);
  buf.writeBigUInt64LE(s.tsEvent, o + 8);
  buf.writeBigInt64LE(s.price === null ? UNDEF_PRICE : BigInt(s.price), o + 16);
  buf.writeUInt32LE(s.size, o + 24);
  buf.writeUInt8(s.action.charCodeAt(0), o + 28);
  buf.writeUInt8(s.side.charCodeAt(0), o + 29);
  buf.writeUInt8(s.flags, o + 30);
  buf.writeUInt8(changeDepth(s), o + 31);
  buf.writeBigUInt64LE(s.tsRecv, o + 32);
  buf.writeInt32LE(s.tsInDelta, o + 40);
  buf.writeUInt32LE(s.sequence, o + 44);
  for (let i = 0; i < 10; i++) {
    const l = o + 48 + i * 32;
    const hasBid = i * 3 < s.bids.length;
    const hasAsk = i * 3 < s.asks.length;
    buf.writeBigInt64LE(hasBid ? BigInt(s.bids[i * 3]) : UNDEF_PRICE, l);
    buf.writeBigInt64LE(hasAsk ? BigInt(s.asks[i * 3]) : UNDEF_PRICE, l + 8);
    buf.writeUInt32LE(qty(s.bids, i, 1), l + 16);
    buf.writeUInt32LE(qty(s.asks, i, 1), l + 20);
    buf.writeUInt32LE(qty(s.bids, i, 2), l + 24);
    buf.writeUInt32LE(qty(s.asks, i, 2), l + 28);
  }
}
