import { formatPrice } from './price.js';
import { ByteChunks, ascii, bytesOf, chars, int, nineDigits, put } from './bytes.js';
import type { StoredSnapshot } from '../store/port.js';

/**
 * Writes snapshots as replay / export lines (JSON objects, or CSV rows for
 * exports) straight into bytes, chunk by chunk:
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

  /**
   * Appends one snapshot as a CSV row of csvHeader(depth)'s columns, and a
   * newline: prices as decimals, missing levels as empty cells.
   */
  csvRow(s: StoredSnapshot, depth: number): void {
    const symbol = csvBytes(s.symbol);
    const action = csvBytes(s.action);
    const side = csvBytes(s.side);
    this.reserve(CSV_FIXED_BYTES + symbol.length + action.length + side.length + depth * CSV_LEVEL_BYTES);
    const o = this.chunk;
    let p = put(o, this.pos, symbol);
    o[p++] = 0x2c;
    p = int(o, p, s.instrumentId);
    o[p++] = 0x2c;
    p = int(o, p, s.publisherId);
    o[p++] = 0x2c;
    p = chars(o, p, s.tsRecv.toString());
    o[p++] = 0x2c;
    p = chars(o, p, s.tsEvent.toString());
    o[p++] = 0x2c;
    p = int(o, p, s.sequence);
    o[p++] = 0x2c;
    p = int(o, p, s.subSequence);
    o[p++] = 0x2c;
    p = put(o, p, action);
    o[p++] = 0x2c;
    p = put(o, p, side);
    o[p++] = 0x2c;
    if (s.price !== null) p = decimal(o, p, s.price);
    o[p++] = 0x2c;
    p = int(o, p, s.size);
    o[p++] = 0x2c;
    p = int(o, p, s.flags);
    p = put(o, p, s.crossed ? TRUE_CSV : FALSE_CSV);
    p = put(o, p, s.locked ? TRUE_CSV : FALSE_CSV);
    for (let k = 0; k < depth * 3; k += 3) {
      p = csvLevel(o, p, s.bids, k);
      p = csvLevel(o, p, s.asks, k);
    }
    o[p++] = 0x0a;
    if (p > o.length) {
      // Past the estimate (only prices beyond 2^53 nanos can do that): as in frame().
      this.reserve(p - this.pos);
      this.csvRow(s, depth);
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
  o[p++] = 0x22;
  p = decimal(o, p, nanos);
  o[p++] = 0x22;
  return p;
}

/**
 * Prices as written lately, by their nanos, in a direct-mapped table: a
 * replay's frames and an export's rows repeat the same few hundred prices
 * (levels near the top move little, a trigger's price is often one of
 * them), and formatting one is a large part of a JSON frame's cost, more
 * than finding and copying it. Module-level, as V8 re-checks typed arrays
 * read from object fields, and shared: a price's text never changes. Only
 * safe integers are kept (at most 18 bytes); others are rare.
 */
const PRICE_SLOT_BITS = 12;
const PRICE_SLOT_BYTES = 32;
const priceKeys = new Float64Array(1 << PRICE_SLOT_BITS).fill(NaN); // NaN: no price equals it
const priceLengths = new Uint8Array(1 << PRICE_SLOT_BITS);
const priceText = Buffer.alloc((1 << PRICE_SLOT_BITS) * PRICE_SLOT_BYTES);

/** A price in 1e-9 units as its decimal string, unquoted (65.400000000): from the table, formatted on a miss. */
function decimal(o: Buffer, p: number, nanos: number): number {
  if (!Number.isSafeInteger(nanos)) return put(o, p, bytesOf(formatPrice(nanos)));
  // The low 32 bits of the nanos, mixed (tick sizes leave the lowest bits zero).
  const slot = Math.imul(nanos >>> 0, 0x9e3779b1) >>> (32 - PRICE_SLOT_BITS);
  const at = slot * PRICE_SLOT_BYTES;
  if (priceKeys[slot] !== nanos) {
    priceKeys[slot] = nanos;
    priceLengths[slot] = formatDecimal(priceText, at, nanos) - at;
  }
  const n = priceLengths[slot];
  for (let k = 0; k < n; k++) o[p + k] = priceText[at + k];
  return p + n;
}

/** decimal()'s text for a safe integer, formatted. */
function formatDecimal(o: Buffer, p: number, nanos: number): number {
  if (nanos < 0) {
    o[p++] = 0x2d; // -
    nanos = -nanos;
  }
  const whole = Math.floor(nanos / 1e9);
  p = int(o, p, whole);
  o[p++] = 0x2e; // .
  return nineDigits(o, p, nanos - whole * 1e9);
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
 * Strings that repeat on every line (symbols, actions, sides), encoded once
 * each as UTF-8 by `encode`. Bounded: emptied when it reaches 65,536 entries.
 */
function encodedOnce(encode: (x: string | null) => string): (x: string | null) => Uint8Array {
  const cache = new Map<string | null, Uint8Array>();
  return (x) => {
    let b = cache.get(x);
    if (b === undefined) {
      if (cache.size >= 65_536) cache.clear();
      cache.set(x, (b = bytesOf(encode(x))));
    }
    return b;
  };
}

/** A JSON string (or null). */
const jsonBytes = encodedOnce((x) => JSON.stringify(x));

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

/** A CSV field, quoted per RFC 4180 where it holds a comma, quote or line break; null is empty. */
const csvBytes = encodedOnce((x) => {
  const text = x ?? '';
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
});

const TRUE_CSV = bytesOf(',true');
const FALSE_CSV = bytesOf(',false');
/** Room per CSV row apart from its symbol, action, side and levels, and per level (two prices, four numbers). */
const CSV_FIXED_BYTES = 256;
const CSV_LEVEL_BYTES = 128;

/** ",price,size,count" of the level at packed index k, or ",,," when the side has no such level. */
function csvLevel(o: Buffer, p: number, packed: number[], k: number): number {
  o[p++] = 0x2c;
  if (k >= packed.length) {
    o[p++] = 0x2c;
    o[p++] = 0x2c;
    return p;
  }
  p = decimal(o, p, packed[k]);
  o[p++] = 0x2c;
  p = int(o, p, packed[k + 1]);
  o[p++] = 0x2c;
  return int(o, p, packed[k + 2]);
}
