import { formatPrice } from '../../src/encode/price.js';
import type { StoredSnapshot } from '../../src/store/port.js';

/**
 * The replay / export frame as a plain object, written the obvious way: the
 * reference the frame writer (FrameWriter) is checked against.
 */
export function referenceFrame(s: StoredSnapshot, depth = Infinity): Record<string, unknown> {
  const levels = (packed: number[]) => {
    const out: Array<[string, number, number]> = [];
    for (let k = 0; k < Math.min(packed.length, depth * 3); k += 3) out.push([formatPrice(packed[k]), packed[k + 1], packed[k + 2]]);
    return out;
  };
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
    bids: levels(s.bids),
    asks: levels(s.asks),
  };
}

/** A CSV field as RFC 4180 writes it: quoted, quotes doubled, when it holds a comma, quote or line break. */
const csvField = (x: string) => (/[",\r\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);

/** The export's CSV row (csvHeader's columns), written the obvious way. */
export function referenceCsvRow(s: StoredSnapshot, depth: number): string {
  const cols: Array<string | number | boolean> = [
    csvField(s.symbol ?? ''), s.instrumentId, s.publisherId, s.tsRecv.toString(), s.tsEvent.toString(), s.sequence, s.subSequence,
    csvField(s.action), csvField(s.side), s.price === null ? '' : formatPrice(s.price), s.size, s.flags, s.crossed, s.locked,
  ];
  for (let i = 0; i < depth; i++) {
    for (const packed of [s.bids, s.asks]) {
      const has = i * 3 < packed.length;
      cols.push(has ? formatPrice(packed[i * 3]) : '', has ? packed[i * 3 + 1] : '', has ? packed[i * 3 + 2] : '');
    }
  }
  return cols.join(',');
}
