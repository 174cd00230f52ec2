/**
 * Snapshots built from the vectors of a SELECT_SNAPSHOT result chunk, each
 * column copied out once as a typed array (duckdb.h's layouts, as in
 * chunks.ts). node-api's per-value `getItem` crosses a class and checks
 * validity with BigInt arithmetic for each of the ~90 values of a row: that
 * was half of a replay's JS time (in process, reading a row went from
 * ~5.8 to ~3.4 µs).
 */
import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { toNanos } from '../columns.js';
import { compareKeys, type RowKey, type StoredSnapshot } from '../port.js';
import { RType } from '../../dbn/constants.js';
import { HeaderOffset } from '../../dbn/layout.js';
import { setI64, setMbpU32, setUndefPrice } from '../../dbn/encode.js';
import type { BlockRows } from './book-blocks.js';

/**
 * The query whose chunks these read, column by column. Action and side come
 * as their character codes; the level lists as stored (sizes UBIGINT[], read
 * here as pairs of u32 words: a cast to DOUBLE[] in the query cost DuckDB
 * more than the scan of the lists).
 */
export const SELECT_SNAPSHOT = `SELECT ts_recv, ts_event, instrument_id, publisher_id, sequence, sub_sequence, symbol, ascii(action), ascii(side), price, size,
  flags, ts_in_delta, depth, crossed, locked, bid_px, bid_sz, bid_ct, ask_px, ask_sz, ask_ct FROM book_snapshots`;
/** SELECT_SNAPSHOT's first level list (bid_px); bids then asks, each price, size, count. */
const LEVEL_LISTS = 16;

const CHAR = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));
const utf8 = new TextDecoder();
const INLINE_STRING_BYTES = 12;

/** A result chunk's key columns, as typed arrays: what OrderedRows sorts by. */
export interface KeyColumns {
  readonly length: number;
  readonly tsRecv: BigInt64Array;
  readonly instrumentId: Uint32Array;
  readonly publisherId: Uint16Array;
  readonly sequence: Uint32Array;
  readonly subSequence: Uint16Array | Uint32Array;
}

/** A vector's first `count` values of `width` bytes, copied out, as a typed array. */
export function vectorValues<T>(v: duckdb.Vector, width: number, count: number, as: new (b: ArrayBuffer, offset: number, length: number) => T): T {
  const bytes = duckdb.vector_get_data(v, count * width);
  return new as(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
}

/** One SELECT_SNAPSHOT result chunk's rows, column by column, as typed arrays. */
export class SnapshotRows implements BlockRows, KeyColumns {
  readonly length: number;
  /** What the columns hold (the chunk itself is not kept). */
  readonly bytes: number;
  readonly tsRecv: BigInt64Array;
  readonly tsEvent: BigInt64Array;
  readonly instrumentId: Uint32Array;
  readonly publisherId: Uint16Array;
  readonly sequence: Uint32Array;
  readonly subSequence: Uint16Array;
  readonly symbol: (string | null)[];
  readonly action: Int32Array;
  readonly side: Int32Array;
  readonly price: Float64Array;
  readonly priceValid: Uint8Array | null;
  readonly size: Uint32Array;
  readonly flags: Uint8Array;
  readonly tsInDelta: Int32Array;
  readonly depth: Uint16Array;
  readonly crossed: Uint8Array;
  readonly locked: Uint8Array;
  /**
   * Per level list (bid_px ... ask_ct): each row's (offset, length) as u32
   * words of the u64 entry, and the flat child values (sizes as u32 word
   * pairs: read them with sizeAt).
   */
  readonly entries: Uint32Array[] = [];
  readonly levelValues: Array<Float64Array | Uint32Array> = [];

  constructor(chunk: DuckDBDataChunk) {
    const c = chunk.chunk;
    const n = (this.length = duckdb.data_chunk_get_size(c));
    const vector = (k: number) => duckdb.data_chunk_get_vector(c, k);
    const values = vectorValues;
    this.tsRecv = values(vector(0), 8, n, BigInt64Array);
    this.tsEvent = values(vector(1), 8, n, BigInt64Array);
    this.instrumentId = values(vector(2), 4, n, Uint32Array);
    this.publisherId = values(vector(3), 2, n, Uint16Array);
    this.sequence = values(vector(4), 4, n, Uint32Array);
    this.subSequence = values(vector(5), 2, n, Uint16Array);
    this.symbol = strings(vector(6), n);
    this.action = values(vector(7), 4, n, Int32Array);
    this.side = values(vector(8), 4, n, Int32Array);
    this.price = values(vector(9), 8, n, Float64Array);
    this.priceValid = validity(vector(9), n);
    this.size = values(vector(10), 4, n, Uint32Array);
    this.flags = values(vector(11), 1, n, Uint8Array);
    this.tsInDelta = values(vector(12), 4, n, Int32Array);
    this.depth = values(vector(13), 2, n, Uint16Array);
    this.crossed = values(vector(14), 1, n, Uint8Array);
    this.locked = values(vector(15), 1, n, Uint8Array);
    for (let k = 0; k < 6; k++) {
      const v = vector(LEVEL_LISTS + k);
      // (u64 offset, u64 length) per row: offsets into one chunk's child vector fit in the low word.
      this.entries.push(values(v, 4, 4 * n, Uint32Array));
      const child = duckdb.list_vector_get_child(v);
      const size = duckdb.list_vector_get_size(v);
      this.levelValues.push(k % 3 === 0 ? values(child, 8, size, Float64Array) : values(child, 4, k % 3 === 1 ? 2 * size : size, Uint32Array));
    }
    let bytes = 8 * n; // the symbols: a reference a row, the strings shared
    for (const column of Object.values(this)) if (ArrayBuffer.isView(column)) bytes += column.byteLength;
    for (const column of [...this.entries, ...this.levelValues]) bytes += column.byteLength;
    this.bytes = bytes;
  }

  /** Row i's levels of one side (list columns px, px+1, px+2), packed [price, size, count, ...]. */
  levels(i: number, side: 0 | 1): number[] {
    const px = side * 3;
    const ep = this.entries[px], es = this.entries[px + 1], ec = this.entries[px + 2];
    const n = ep[4 * i + 2];
    const op = ep[4 * i], os = es[4 * i], oc = ec[4 * i];
    const vp = this.levelValues[px], vs = this.levelValues[px + 1], vc = this.levelValues[px + 2];
    const packed = new Array<number>(n * 3);
    for (let j = 0; j < n; j++) {
      packed[3 * j] = toNanos(vp[op + j]);
      packed[3 * j + 1] = sizeAt(vs, os + j);
      packed[3 * j + 2] = vc[oc + j];
    }
    return packed;
  }

  /**
   * Writes row i as one DBN MBP record (80 or 368 bytes) at `o`, from the
   * columns: the bytes encode/mbp.ts's writeMbpSnapshot writes for row(i).
   */
  writeMbp(i: number, view: DataView, o: number, levels: 1 | 10): void {
    view.setUint8(o, (48 + 32 * levels) / 4);
    view.setUint8(o + HeaderOffset.rtype, levels === 10 ? RType.MBP_10 : RType.MBP_1);
    view.setUint16(o + HeaderOffset.publisherId, this.publisherId[i], true);
    view.setUint32(o + HeaderOffset.instrumentId, this.instrumentId[i], true);
    view.setBigInt64(o + HeaderOffset.tsEvent, this.tsEvent[i], true);
    const priced = !isNull(this.priceValid, i);
    const price = priced ? toNanos(this.price[i]) : 0;
    if (priced) setI64(view, o + 16, price);
    else setUndefPrice(view, o + 16);
    view.setUint32(o + 24, this.size[i], true);
    const side = this.side[i] & 0xff;
    view.setUint8(o + 28, this.action[i] & 0xff);
    view.setUint8(o + 29, side);
    view.setUint8(o + 30, this.flags[i]);
    view.setBigInt64(o + 32, this.tsRecv[i], true);
    view.setInt32(o + 40, this.tsInDelta[i], true);
    view.setUint32(o + 44, this.sequence[i], true);
    let change = 0;
    for (let s = 0; s < 2; s++) {
      const px = s * 3;
      const ep = this.entries[px], es = this.entries[px + 1], ec = this.entries[px + 2];
      const vp = this.levelValues[px], vs = this.levelValues[px + 1], vc = this.levelValues[px + 2];
      const n = Math.min(levels, ep[4 * i + 2]);
      const op = ep[4 * i], os = es[4 * i], oc = ec[4 * i];
      // The first level at the trigger's price on its side, as writeMbpSnapshot finds it.
      let seeking = priced && side === (s === 0 ? B : A);
      for (let k = 0; k < levels; k++) {
        const l = o + 48 + k * 32 + s * 8;
        if (k < n) {
          const p = toNanos(vp[op + k]);
          if (seeking && p === price) {
            change = k;
            seeking = false;
          }
          setI64(view, l, p);
          setMbpU32(view, l + 16 - s * 4, sizeAt(vs, os + k));
          setMbpU32(view, l + 24 - s * 4, vc[oc + k]);
        } else {
          setUndefPrice(view, l);
          view.setUint32(l + 16 - s * 4, 0, true);
          view.setUint32(l + 24 - s * 4, 0, true);
        }
      }
    }
    view.setUint8(o + 31, change);
  }

  row(i: number): StoredSnapshot {
    return {
      symbol: this.symbol[i],
      instrumentId: this.instrumentId[i],
      publisherId: this.publisherId[i],
      tsRecv: this.tsRecv[i],
      tsEvent: this.tsEvent[i],
      sequence: this.sequence[i],
      subSequence: this.subSequence[i],
      action: CHAR[this.action[i] & 0xff],
      side: CHAR[this.side[i] & 0xff],
      price: isNull(this.priceValid, i) ? null : toNanos(this.price[i]),
      size: this.size[i],
      flags: this.flags[i],
      tsInDelta: this.tsInDelta[i],
      depth: this.depth[i],
      crossed: this.crossed[i] !== 0,
      locked: this.locked[i] !== 0,
      bids: this.levels(i, 0),
      asks: this.levels(i, 1),
    };
  }
}

const A = 65, B = 66;

/** Size k of a level list's UBIGINT child read as u32 words (little-endian): exact below 2^53, as sizes are. */
function sizeAt(words: Float64Array | Uint32Array, k: number): number {
  return words[2 * k] + words[2 * k + 1] * 2 ** 32;
}

/** A vector's validity bits (1 = valid), or null when every row is valid. */
export function validity(v: duckdb.Vector, n: number): Uint8Array | null {
  const bits = duckdb.vector_get_validity(v, Math.ceil(n / 64) * 8);
  return bits ? bits : null;
}

/** Whether row i is NULL by `validity`'s bits. */
export function isNull(valid: Uint8Array | null, i: number): boolean {
  return valid !== null && (valid[i >> 3] & (1 << (i & 7))) === 0;
}

/**
 * A VARCHAR vector's strings (16-byte duckdb_string_t: a u32 length, then up
 * to 12 bytes inline or a prefix and a pointer). Rows come in runs of one
 * symbol: an inline string equal to the row before's, all 16 bytes, is that
 * row's string, not decoded again.
 */
export function strings(v: duckdb.Vector, n: number): (string | null)[] {
  const raw = duckdb.vector_get_data(v, n * 16);
  const w = new Uint32Array(raw.buffer, raw.byteOffset, n * 4);
  const valid = validity(v, n);
  const out = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const at = 16 * i;
    const length = w[4 * i];
    if (isNull(valid, i)) out[i] = null;
    else if (length > INLINE_STRING_BYTES) out[i] = utf8.decode(duckdb.get_data_from_pointer(raw.buffer as ArrayBuffer, raw.byteOffset + at + 8, length));
    else if (i > 0 && out[i - 1] !== null && length === w[4 * i - 4] && w[4 * i + 1] === w[4 * i - 3] && w[4 * i + 2] === w[4 * i - 2] && w[4 * i + 3] === w[4 * i - 1]) {
      out[i] = out[i - 1];
    } else out[i] = utf8.decode(raw.subarray(at + 4, at + 4 + length));
  }
  return out;
}

/** A row of one of several SnapshotRows: the part's index times PART_ROWS, plus the row's index in it. */
const PART_ROWS = 1 << 16;

/**
 * Rows of several result chunks, in key order (ts_recv, instrument_id,
 * publisher_id, sequence, sub_sequence), built as snapshots only when asked
 * for (readRange asks a batch at a time). A replay's window of rows is held
 * as columns and each row object dies young, where a window of row objects
 * (~800 bytes each) outlived young-generation collections and was copied by
 * each: a 1-client replay over HTTP went from 119–132 k to 132–160 k
 * frames/s.
 */
export class OrderedRows<P extends KeyColumns = SnapshotRows> {
  readonly length: number;
  private readonly order: number[];

  constructor(private readonly parts: P[]) {
    const order: number[] = [];
    parts.forEach((rows, k) => {
      for (let i = 0; i < rows.length; i++) order.push(k * PART_ROWS + i);
    });
    this.length = order.length;
    // ts_recv compared as (high word signed, low word unsigned): no bigint made per comparison.
    const hi = parts.map((r) => new Int32Array(r.tsRecv.buffer, r.tsRecv.byteOffset, 2 * r.length));
    const lo = parts.map((r) => new Uint32Array(r.tsRecv.buffer, r.tsRecv.byteOffset, 2 * r.length));
    // Within a window DuckDB's parallel scan returns a few runs already in order, which sort() merges in close to linear time.
    this.order = order.sort((a, b) => {
      const pa = (a / PART_ROWS) | 0, ia = a - pa * PART_ROWS;
      const pb = (b / PART_ROWS) | 0, ib = b - pb * PART_ROWS;
      const ra = parts[pa], rb = parts[pb];
      return hi[pa][2 * ia + 1] - hi[pb][2 * ib + 1] || lo[pa][2 * ia] - lo[pb][2 * ib] || ra.instrumentId[ia] - rb.instrumentId[ib]
        || ra.publisherId[ia] - rb.publisherId[ib] || ra.sequence[ia] - rb.sequence[ib] || ra.subSequence[ia] - rb.subSequence[ib];
    });
  }

  /** The columns holding the k-th row in key order. */
  partAt(k: number): P {
    return this.parts[(this.order[k] / PART_ROWS) | 0];
  }

  /** The k-th row's index in partAt(k). */
  indexAt(k: number): number {
    const at = this.order[k];
    return at - ((at / PART_ROWS) | 0) * PART_ROWS;
  }

  /** The k-th row in key order, as a snapshot. */
  row(this: OrderedRows<SnapshotRows>, k: number): StoredSnapshot {
    return this.partAt(k).row(this.indexAt(k));
  }

  /** The k-th row in key order as one DBN MBP record at `o` (SnapshotRows.writeMbp). */
  writeMbp(this: OrderedRows<SnapshotRows>, k: number, view: DataView, o: number, levels: 1 | 10): void {
    this.partAt(k).writeMbp(this.indexAt(k), view, o, levels);
  }

  /** Whether the k-th row's key is `key` or before it. */
  atOrBefore(k: number, key: RowKey): boolean {
    const rows = this.partAt(k);
    const i = this.indexAt(k);
    return compareKeys({
      tsRecv: rows.tsRecv[i], instrumentId: rows.instrumentId[i], publisherId: rows.publisherId[i],
      sequence: rows.sequence[i], subSequence: rows.subSequence[i],
    }, key) <= 0;
  }
}
