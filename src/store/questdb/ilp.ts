import { CSV_CHAR, bytesOf, int, put, u64 } from '../../encode/bytes.js';
import { ASK_PX, BID_PX, type SnapshotBuffer } from '../../book/snapshot-buffer.js';
import type { RowBuffer } from '../../book/row-buffer.js';
import type { TradeBuffer } from '../../book/trade-buffer.js';
import { NANOS } from '../columns.js';
import type { SymbolOf } from '../port.js';
import { COL, SNAPSHOTS, TRADES } from './schema.js';

/**
 * InfluxDB Line Protocol, version 2 (QuestDB's: doubles and arrays in
 * binary), written straight from the engine's row buffers. It writes the
 * same bytes as @questdb/nodejs-client's Sender does for the same calls
 * (test/store/questdb-ilp.test.ts compares them row by row): the Sender
 * validates and dispatches every value through a generic column method and
 * builds each array from JS arrays, which bounded ingest at about a quarter of
 * what the server accepts; here a row is a fixed sequence of byte copies and
 * digit writes. The official client still sends the bytes (its transport:
 * configuration, authentication, TLS, retries).
 *
 * Line: `table,symbol=..,action=..,side=.. col=value,... <ts_recv>n\n`.
 * Integers `123i`, timestamps in ns `123n`, booleans `t`/`f`, doubles
 * `==` 0x10 + 8 bytes LE, arrays `==` 0x0e 0x0a ndims, dims (i32 LE), values.
 */

const DOUBLE = 16;
const ARRAY = 14;
const ELEM_DOUBLE = 10;

/** A tag value or table/column name escaped as ILP (unquoted) needs it. */
export function escapeName(text: string): Buffer {
  return bytesOf(text.replace(/[ ,=\n\r\\]/g, (c) => (c === '\\' ? '\\\\' : `\\${c}`)));
}

export const lit = (text: string) => bytesOf(text);
/** `,name=` before a column (` name=` for the first one). */
export const col = (name: string, first = false) => lit(`${first ? ' ' : ','}${name}=`);
const dbl = (name: string) => Buffer.concat([col(name), Buffer.from([0x3d, DOUBLE])]);
const arr = (name: string) => Buffer.concat([col(name), Buffer.from([0x3d, ARRAY, ELEM_DOUBLE, 2])]);

/** `,action=X` and `,side=X` for each byte value, escaped as a tag. */
export const tagByChar = (name: string) => CSV_CHAR.map((_, c) => Buffer.concat([lit(`,${name}=`), escapeName(String.fromCharCode(c))]));

const P = {
  snapshots: escapeName(SNAPSHOTS),
  trades: escapeName(TRADES),
  symbol: lit(`,${COL.symbol}=`),
  action: tagByChar(COL.action),
  side: tagByChar(COL.side),
  tsEvent: col(COL.tsEvent, true),
  instrumentId: col(COL.instrumentId),
  publisherId: col(COL.publisherId),
  sequence: col(COL.sequence),
  subSequence: col(COL.subSequence),
  price: dbl(COL.price),
  size: col(COL.size),
  flags: col(COL.flags),
  tsInDelta: col(COL.tsInDelta),
  depth: col(COL.depth),
  bestBidPx: dbl(COL.bestBidPx),
  bestBidSz: col(COL.bestBidSz),
  bestAskPx: dbl(COL.bestAskPx),
  bestAskSz: col(COL.bestAskSz),
  spread: dbl(COL.spread),
  crossed: col(COL.crossed),
  locked: col(COL.locked),
  bids: arr(COL.bids),
  asks: arr(COL.asks),
};

/** Bytes of a row beyond its symbol and levels: the key, the scalars and the names (generously). */
export const ROW_FIXED = 512;

/** An upper bound of the bytes of one snapshot row at `depth` with a symbol of `symbolBytes`. */
export const snapshotRowBound = (depth: number, symbolBytes: number) => ROW_FIXED + 2 * symbolBytes + 2 * (16 + 3 * depth * 8);

/** Encoded requests: each at most about `chunkBytes`, each a whole number of rows. */
export interface IlpChunk {
  bytes: Buffer;
  rows: number;
}

/** Doubles go out through this scratch: filled as numbers, copied as their little-endian bytes. */
let scratch = new Float64Array(512);
let scratchBytes = new Uint8Array(scratch.buffer);

function double(o: Buffer, p: number, x: number): number {
  scratch[0] = x;
  const s = scratchBytes;
  o[p] = s[0]; o[p + 1] = s[1]; o[p + 2] = s[2]; o[p + 3] = s[3];
  o[p + 4] = s[4]; o[p + 5] = s[5]; o[p + 6] = s[6]; o[p + 7] = s[7];
  return p + 8;
}

function i32(o: Buffer, p: number, x: number): number {
  o[p] = x & 0xff;
  o[p + 1] = (x >>> 8) & 0xff;
  o[p + 2] = (x >>> 16) & 0xff;
  o[p + 3] = (x >>> 24) & 0xff;
  return p + 4;
}

/** An integer column's value: `123i` (negative values too). */
export function integer(o: Buffer, p: number, x: number): number {
  p = int(o, p, x);
  o[p] = 0x69; // i
  return p + 1;
}

/** A side's levels as a [3][n] array: prices (in price units), sizes, counts; one copy of their bytes. */
function levels(o: Buffer, p: number, rows: Float64Array, base: number, depth: number, n: number): number {
  p = i32(o, i32(o, p, 3), n);
  if (scratch.length < 3 * n) {
    scratch = new Float64Array(3 * n);
    scratchBytes = new Uint8Array(scratch.buffer);
  }
  const f = scratch;
  for (let k = 0; k < n; k++) {
    f[k] = rows[base + k] / NANOS;
    f[n + k] = rows[base + depth + k];
    f[2 * n + k] = rows[base + 2 * depth + k];
  }
  o.set(scratchBytes.subarray(0, 24 * n), p);
  return p + 24 * n;
}

/** The symbol tag of each instrument, escaped, looked up once per instrument and call. */
class SymbolTags {
  private readonly tags = new Map<number, Buffer | null>();
  constructor(private readonly symbolOf: SymbolOf) {}
  of(instrumentId: number): Buffer | null {
    let tag = this.tags.get(instrumentId);
    if (tag === undefined) {
      const sym = this.symbolOf(instrumentId);
      tag = sym === null ? null : Buffer.concat([P.symbol, escapeName(sym)]);
      this.tags.set(instrumentId, tag);
    }
    return tag;
  }
}

/** The key columns and ts_event, after the table and tags. */
function key(o: Buffer, p: number, b: RowBuffer, i: number): number {
  p = put(o, p, P.tsEvent);
  p = u64(o, p, b.tsEventHi(i), b.tsEventLo(i));
  o[p++] = 0x6e; // n
  p = integer(o, put(o, p, P.instrumentId), b.instrumentId(i));
  p = integer(o, put(o, p, P.publisherId), b.publisherId(i));
  p = integer(o, put(o, p, P.sequence), b.sequence(i));
  return integer(o, put(o, p, P.subSequence), b.subSequence(i));
}

/** The designated timestamp (ts_recv in ns) and the end of the line. */
function end(o: Buffer, p: number, b: RowBuffer, i: number): number {
  return timestampEnd(o, p, b.tsRecvHi(i), b.tsRecvLo(i));
}

/** The designated timestamp from its u32 halves (ns) and the end of the line. */
export function timestampEnd(o: Buffer, p: number, hi: number, lo: number): number {
  o[p++] = 0x20;
  p = u64(o, p, hi, lo);
  o[p++] = 0x6e; // n
  o[p++] = 0x0a;
  return p;
}

/** An ILP request's first buffer: it doubles as rows come, up to the request's limit. */
const FIRST_REQUEST_BYTES = 1 << 20;

/**
 * One ILP request being filled: rows are appended while they fit in
 * `limit` bytes (by their upper bound); a single row larger than that
 * gets a request of its own. The buffer grows with the rows, so a small
 * batch (a few trades) does not hold a large request's memory.
 */
export class IlpRequest {
  buf: Buffer;
  p = 0;
  constructor(readonly limit: number) {
    this.buf = Buffer.allocUnsafe(Math.min(limit, FIRST_REQUEST_BYTES));
  }

  /** Whether a row of at most `bound` bytes goes in (making room when the request is empty). */
  fits(bound: number): boolean {
    const need = this.p + bound;
    if (need <= this.buf.length) return true;
    if (this.p > 0 && need > this.limit) return false;
    const grown = Buffer.allocUnsafe(Math.max(need, Math.min(this.limit, this.buf.length * 2)));
    this.buf.copy(grown, 0, 0, this.p);
    this.buf = grown;
    return true;
  }

  get bytes(): Buffer {
    return this.buf.subarray(0, this.p);
  }
}

/** Appends up to `maxRows` snapshot rows from `from` while they fit; returns how many went in. */
export function appendSnapshots(req: IlpRequest, b: SnapshotBuffer, from: number, maxRows: number, tags: SymbolTags): number {
  const depth = b.depth;
  const rows = b.rows;
  let o = req.buf;
  let p = req.p;
  let i = from;
  const stop = Math.min(b.length, from + maxRows);
  for (; i < stop; i++) {
    const tag = tags.of(b.instrumentId(i));
    req.p = p;
    if (!req.fits(snapshotRowBound(depth, tag === null ? 0 : tag.length))) break;
    o = req.buf;
    p = put(o, p, P.snapshots);
    if (tag !== null) p = put(o, p, tag);
    p = put(o, p, P.action[b.action(i)]);
    p = put(o, p, P.side[b.side(i)]);
    p = key(o, p, b, i);
    const price = b.price(i);
    if (!Number.isNaN(price)) p = double(o, put(o, p, P.price), price / NANOS);
    p = integer(o, put(o, p, P.size), b.size(i));
    p = integer(o, put(o, p, P.flags), b.flags(i));
    p = integer(o, put(o, p, P.tsInDelta), b.tsInDelta(i));
    p = integer(o, put(o, p, P.depth), depth);
    const nb = b.bidLevels(i);
    const na = b.askLevels(i);
    const bid = rows[b.slot(i, BID_PX)];
    const ask = rows[b.slot(i, ASK_PX)];
    if (nb > 0) {
      p = double(o, put(o, p, P.bestBidPx), bid / NANOS);
      p = integer(o, put(o, p, P.bestBidSz), rows[b.slot(i, BID_PX) + depth]);
    }
    if (na > 0) {
      p = double(o, put(o, p, P.bestAskPx), ask / NANOS);
      p = integer(o, put(o, p, P.bestAskSz), rows[b.slot(i, ASK_PX) + depth]);
    }
    if (nb > 0 && na > 0) p = double(o, put(o, p, P.spread), (ask - bid) / NANOS);
    p = put(o, p, P.crossed);
    o[p++] = nb > 0 && na > 0 && bid > ask ? 0x74 : 0x66;
    p = put(o, p, P.locked);
    o[p++] = nb > 0 && na > 0 && bid === ask ? 0x74 : 0x66;
    p = levels(o, put(o, p, P.bids), rows, b.slot(i, BID_PX), depth, nb);
    p = levels(o, put(o, p, P.asks), rows, b.slot(i, ASK_PX), depth, na);
    p = end(o, p, b, i);
  }
  req.p = p;
  return i - from;
}

/** As appendSnapshots, for trades. */
export function appendTrades(req: IlpRequest, b: TradeBuffer, from: number, maxRows: number, tags: SymbolTags): number {
  let p = req.p;
  let i = from;
  const stop = Math.min(b.length, from + maxRows);
  for (; i < stop; i++) {
    const tag = tags.of(b.instrumentId(i));
    req.p = p;
    if (!req.fits(ROW_FIXED + 2 * (tag === null ? 0 : tag.length))) break;
    const o = req.buf;
    p = put(o, p, P.trades);
    if (tag !== null) p = put(o, p, tag);
    p = put(o, p, P.side[b.side(i)]);
    p = key(o, p, b, i);
    const price = b.price(i);
    if (!Number.isNaN(price)) p = double(o, put(o, p, P.price), price / NANOS);
    p = integer(o, put(o, p, P.size), b.size(i));
    p = end(o, p, b, i);
  }
  req.p = p;
  return i - from;
}

/** Snapshot rows from `from` as one request of about `chunkBytes` at most (a row is never split). */
export function encodeSnapshots(b: SnapshotBuffer, from: number, chunkBytes: number, symbolOf: SymbolOf): IlpChunk {
  const req = new IlpRequest(chunkBytes);
  const rows = appendSnapshots(req, b, from, Infinity, new SymbolTags(symbolOf));
  return { bytes: req.bytes, rows };
}

/** As encodeSnapshots, for trades. */
export function encodeTrades(b: TradeBuffer, from: number, chunkBytes: number, symbolOf: SymbolOf): IlpChunk {
  const req = new IlpRequest(chunkBytes);
  const rows = appendTrades(req, b, from, Infinity, new SymbolTags(symbolOf));
  return { bytes: req.bytes, rows };
}

/** Symbol tags shared by the chunks of one batch. */
export const symbolTags = (symbolOf: SymbolOf) => new SymbolTags(symbolOf);
export type { SymbolTags };
