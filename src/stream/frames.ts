import { formatPrice } from '../book/price.js';
import type { StoredSnapshot } from '../store/port.js';

/**
 * One snapshot as a replay / export line (JSON, no newline):
 *   {"type":"snapshot","symbol":..,"instrument_id":..,"publisher_id":..,
 *    "ts_recv":"ns","ts_event":"ns","sequence":..,"sub_sequence":..,
 *    "action":"A","side":"B","price":"65.400000000"|null,"size":..,"flags":..,
 *    "crossed":false,"locked":false,"bids":[[price,size,count],...],"asks":[...]}
 * u64 values (ts_recv, ts_event) are decimal strings; prices are exact decimal
 * strings with nine places; levels best first, at most `depth` per side.
 * Built as one string, not an object for JSON.stringify to walk: replay
 * writes a frame per stored row, and this skips an object and a tuple array
 * per level for each (tests compare the two forms byte for byte).
 */
export function snapshotFrameJson(s: StoredSnapshot, depth = Infinity): string {
  return `{"type":"snapshot","symbol":${jsonString(s.symbol)},"instrument_id":${s.instrumentId},"publisher_id":${s.publisherId},`
    + `"ts_recv":"${s.tsRecv}","ts_event":"${s.tsEvent}","sequence":${s.sequence},"sub_sequence":${s.subSequence},`
    + `"action":${jsonString(s.action)},"side":${jsonString(s.side)},"price":${s.price === null ? 'null' : priceJson(s.price)},`
    + `"size":${s.size},"flags":${s.flags},"crossed":${s.crossed},"locked":${s.locked},`
    + `"bids":${levelsJson(s.bids, depth)},"asks":${levelsJson(s.asks, depth)}}`;
}

function levelsJson(packed: number[], depth: number): string {
  const n = Math.min(packed.length, depth * 3);
  let out = '[';
  for (let k = 0; k < n; k += 3) out += `${k === 0 ? '' : ','}[${priceJson(packed[k])},${packed[k + 1]},${packed[k + 2]}]`;
  return out + ']';
}

/**
 * `format` for values that repeat on every frame (symbols; a book's few
 * hundred distinct prices), computed once each. Bounded: the cache is
 * emptied when it reaches 65,536 entries.
 */
function cached<K>(format: (k: K) => string): (k: K) => string {
  const strings = new Map<K, string>();
  return (k) => {
    let j = strings.get(k);
    if (j === undefined) {
      if (strings.size >= 65_536) strings.clear();
      strings.set(k, (j = format(k)));
    }
    return j;
  };
}

const priceJson = cached((nanos: number) => `"${formatPrice(nanos)}"`);
const stringJson = cached((x: string) => JSON.stringify(x));
const jsonString = (x: string | null): string => (x === null ? 'null' : stringJson(x));

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
