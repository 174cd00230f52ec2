import { formatPrice } from '../book/price.js';
import type { StoredSnapshot } from '../store/port.js';

/** A level as [price (decimal string, 9 places), size, count]. */
export type LevelTuple = [string, number, number];

function levels(packed: number[]): LevelTuple[] {
  const out: LevelTuple[] = [];
  for (let k = 0; k < packed.length; k += 3) out.push([formatPrice(packed[k]), packed[k + 1], packed[k + 2]]);
  return out;
}

/**
 * One snapshot as a replay / export line. u64 values (ts_recv, ts_event) are
 * decimal strings; prices are exact decimal strings with nine places.
 */
export function snapshotFrame(s: StoredSnapshot, depth = Infinity): Record<string, unknown> {
  return {
    type: 'snapshot',
    symbol: s.symbol,
    instrument_id: s.instrumentId,
    publisher_id: s.publisherId,
    ts_recv: s.tsRecv.toString(),
    ts_event: s.tsEvent.toString(),
    sequence: s.sequence,
    sub_sequence: s.subSequence,
    action: s.action,
    side: s.side,
    price: s.price === null ? null : formatPrice(s.price),
    size: s.size,
    flags: s.flags,
    crossed: s.crossed,
    locked: s.locked,
    bids: levels(depth < Infinity ? s.bids.slice(0, depth * 3) : s.bids),
    asks: levels(depth < Infinity ? s.asks.slice(0, depth * 3) : s.asks),
  };
}

export const CSV_HEADER_BASE = [
  'symbol', 'instrument_id', 'publisher_id', 'ts_recv', 'ts_event', 'sequence', 'sub_sequence', 'action', 'side', 'price',
  'size', 'flags', 'crossed', 'locked',
];

export function csvHeader(depth: number): string {
  const cols = [...CSV_HEADER_BASE];
  for (let i = 0; i < depth; i++) {
    const n = String(i).padStart(2, '0');
    cols.push(`bid_px_${n}`, `bid_sz_${n}`, `bid_ct_${n}`, `ask_px_${n}`, `ask_sz_${n}`, `ask_ct_${n}`);
  }
  return cols.join(',');
}

export function csvRow(s: StoredSnapshot, depth: number): string {
  const cols: Array<string | number | boolean> = [
    s.symbol ?? '', s.instrumentId, s.publisherId, s.tsRecv.toString(), s.tsEvent.toString(), s.sequence, s.subSequence,
    s.action, s.side, s.price === null ? '' : formatPrice(s.price), s.size, s.flags, s.crossed, s.locked,
  ];
  for (let i = 0; i < depth; i++) {
    const b = i * 3 < s.bids.length;
    const a = i * 3 < s.asks.length;
    cols.push(
      b ? formatPrice(s.bids[i * 3]) : '', b ? s.bids[i * 3 + 1] : '', b ? s.bids[i * 3 + 2] : '',
      a ? formatPrice(s.asks[i * 3]) : '', a ? s.asks[i * 3 + 1] : '', a ? s.asks[i * 3 + 2] : '',
    );
  }
  return cols.join(',');
}
