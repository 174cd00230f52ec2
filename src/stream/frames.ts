import { formatPrice } from '../book/price.js';
import { ByteChunks, ascii, bytesOf, int, nineDigits, put } from '../bytes.js';
import type { StoredSnapshot } from '../store/port.js';

/**
 * Writes snapshots as replay / export lines (JSON objects) straight into
 * bytes, chunk by chunk:
 *   {"type":"snapshot","symbol":..,"instrument_id":..,"publisher_id":..,
 *    "ts_recv":"ns","ts_event":"ns","sequence":..,"sub_sequence":..,
 *    "action":"A","side":"B","price":"65.400000000"|null,"size":..,"flags":..,
 *    "crossed":false,"locked":false,"bids":[[price,size,count],...],"asks":[...]}
 * u64 values (ts_recv, ts_event) are decimal strings; prices are exact decimal
 * strings with nine places; levels best first, at most `depth` per side.
 *
 * Why bytes and not JSON.stringify or a template string: replay writes one
 * frame per stored row, and a frame built as a string is a rope of ~100
 * pieces that is flattened, then encoded, then collected. Here digits go
 * straight into the chunk that is written to the socket (tests compare the
 * output with JSON.stringify of a plain object, byte for byte). Integers are
 * written exactly below 2^53; stored sizes, counts and ids are far below.
 */
export class FrameWriter extends ByteChunks {
  /** Appends one snapshot as a JSON object, and a newline after it when `newline` (NDJSON). */
  frame(s: StoredSnapshot, depth = Infinity, newline = false): void {
    const nb = Math.min(s.bids.length, depth * 3);
    const na = Math.min(s.asks.length, depth * 3);
    const symbol = jsonBytes(s.symbol);
    this.reserve(FRAME_FIXED_BYTES + symbol.length + jsonBytes(s.action).length + jsonBytes(s.side).length + ((nb + na) / 3) * LEVEL_MAX_BYTES);
    const o = this.chunk;
    let p = this.pos;
    p = put(o, p, K_SYMBOL);
    p = put(o, p, symbol);
    p = put(o, p, K_INSTRUMENT);
    p = int(o, p, s.instrumentId);
    p = put(o, p, K_PUBLISHER);
    p = int(o, p, s.publisherId);
    p = put(o, p, K_TS_RECV);
    p = ascii(o, p, s.tsRecv.toString());
    p = put(o, p, K_TS_EVENT);
    p = ascii(o, p, s.tsEvent.toString());
    p = put(o, p, K_SEQUENCE);
    p = int(o, p, s.sequence);
    p = put(o, p, K_SUB_SEQUENCE);
    p = int(o, p, s.subSequence);
    p = put(o, p, K_ACTION);
    p = put(o, p, jsonBytes(s.action));
    p = put(o, p, K_SIDE);
    p = put(o, p, jsonBytes(s.side));
    p = put(o, p, K_PRICE);
    p = s.price === null ? put(o, p, NULL) : price(o, p, s.price);
    p = put(o, p, K_SIZE);
    p = int(o, p, s.size);
    p = put(o, p, K_FLAGS);
    p = int(o, p, s.flags);
    p = put(o, p, K_CROSSED);
    p = put(o, p, s.crossed ? TRUE : FALSE);
    p = put(o, p, K_LOCKED);
    p = put(o, p, s.locked ? TRUE : FALSE);
    p = put(o, p, K_BIDS);
    p = levels(o, p, s.bids, nb);
    p = put(o, p, K_ASKS);
    p = levels(o, p, s.asks, na);
    o[p++] = 0x5d; // ]
    o[p++] = 0x7d; // }
    if (newline) o[p++] = 0x0a;
    if (p > o.length) {
      // Past the estimate (only prices beyond 2^53 nanos can do that): a
      // typed array drops writes out of range, and p counts the frame's
      // true size, so write it again into a chunk that has room.
      this.reserve(p - this.pos);
      this.frame(s, depth, newline);
      return;
    }
    this.pos = p;
  }
}

const K_SYMBOL = bytesOf('{"type":"snapshot","symbol":');
const K_INSTRUMENT = bytesOf(',"instrument_id":');
const K_PUBLISHER = bytesOf(',"publisher_id":');
const K_TS_RECV = bytesOf(',"ts_recv":');
const K_TS_EVENT = bytesOf(',"ts_event":');
const K_SEQUENCE = bytesOf(',"sequence":');
const K_SUB_SEQUENCE = bytesOf(',"sub_sequence":');
const K_ACTION = bytesOf(',"action":');
const K_SIDE = bytesOf(',"side":');
const K_PRICE = bytesOf(',"price":');
const K_SIZE = bytesOf(',"size":');
const K_FLAGS = bytesOf(',"flags":');
const K_CROSSED = bytesOf(',"crossed":');
const K_LOCKED = bytesOf(',"locked":');
const K_BIDS = bytesOf(',"bids":[');
const K_ASKS = bytesOf('],"asks":[');
const TRUE = bytesOf('true');
const FALSE = bytesOf('false');
const NULL = bytesOf('null');
/**
 * Room reserved per frame apart from its symbol, action, side and levels
 * (keys ~230 bytes, numbers at most ~150), and per level ("price" of up to
 * 30 characters, two numbers of up to 24). frame() checks that it fit.
 */
const FRAME_FIXED_BYTES = 512;
const LEVEL_MAX_BYTES = 80;

/** A price in 1e-9 units as its quoted decimal string ("65.400000000"), as formatPrice writes it. */
function price(o: Buffer, p: number, nanos: number): number {
  if (!Number.isSafeInteger(nanos)) return put(o, p, bytesOf(`"${formatPrice(nanos)}"`));
  o[p++] = 0x22;
  if (nanos < 0) {
    o[p++] = 0x2d; // -
    nanos = -nanos;
  }
  const whole = Math.floor(nanos / 1e9);
  p = int(o, p, whole);
  o[p++] = 0x2e; // .
  p = nineDigits(o, p, nanos - whole * 1e9);
  o[p++] = 0x22;
  return p;
}

/** The first `n` packed entries ([price, size, count] per level) as [[...],[...]], without the outer brackets. */
function levels(o: Buffer, p: number, packed: number[], n: number): number {
  for (let k = 0; k < n; k += 3) {
    if (k > 0) o[p++] = 0x2c; // ,
    o[p++] = 0x5b; // [
    p = price(o, p, packed[k]);
    o[p++] = 0x2c;
    p = int(o, p, packed[k + 1]);
    o[p++] = 0x2c;
    p = int(o, p, packed[k + 2]);
    o[p++] = 0x5d; // ]
  }
  return p;
}

/**
 * JSON of strings that repeat on every frame (symbols, actions, sides) as
 * UTF-8, computed once each. Bounded: emptied when it reaches 65,536 entries.
 */
const jsonCache = new Map<string | null, Uint8Array>();
function jsonBytes(x: string | null): Uint8Array {
  let b = jsonCache.get(x);
  if (b === undefined) {
    if (jsonCache.size >= 65_536) jsonCache.clear();
    jsonCache.set(x, (b = bytesOf(JSON.stringify(x))));
  }
  return b;
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
