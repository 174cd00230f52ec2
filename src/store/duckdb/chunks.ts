/**
 * Builds DuckDB data chunks from the engine's rows with bulk memory
 * copies. node-api's value-by-value setters cross N-API once per value (and
 * once per list element), which made them the bound on ingestion.
 * Here each column of a chunk is filled in a typed array in JS and copied into
 * the vector once, through DuckDB's own node bindings.
 *
 * Layouts follow duckdb.h: fixed-width values little-endian, one validity bit
 * per row (1 = valid), list entries as (u64 offset, u64 length) into a flat
 * child vector, and VARCHAR as 16-byte duckdb_string_t, whose strings of up
 * to 12 bytes are stored inline as (u32 length, bytes).
 */
import { endianness } from 'node:os';
import { TWO_32 } from '../../u64.js';
import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import { ASK_CT, ASK_PX, ASK_SZ, BID_CT, BID_PX, BID_SZ, SnapshotField, type LevelField, type SnapshotBuffer } from '../../book/snapshot-buffer.js';
import { TradeField, type TradeBuffer } from '../../book/trade-buffer.js';
import { KeyField, type RowBuffer } from '../../book/row-buffer.js';
import { NANOS, topOfBook } from '../columns.js';
import type { SymbolOf } from '../port.js';

/** DuckDB's vector size: the most rows one data chunk holds. */
export const CHUNK_ROWS = 2048;
const INLINE_STRING_BYTES = 12;
const utf8 = new TextEncoder();
// Typed arrays use the host's byte order and DuckDB's vectors are little-endian.
if (endianness() !== 'LE') throw new Error('booktape\'s DuckDB writer needs a little-endian host');

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** One chunk being filled, column by column, for rows [start, end) of a buffer. */
export class ChunkFiller {
  readonly chunk: DuckDBDataChunk;
  readonly n: number;
  private column = 0;

  constructor(types: DuckDBType[], readonly start: number, readonly end: number) {
    this.n = end - start;
    this.chunk = DuckDBDataChunk.create(types, this.n);
  }

  private next(): duckdb.Vector {
    return duckdb.data_chunk_get_vector(this.chunk.chunk, this.column++);
  }

  /** A fixed-width column copied as is (the typed array's element type matches the column's). */
  raw(values: Typed): void {
    copy(this.next(), values);
  }

  /** As raw, with the rows `nulls` lists NULL. */
  rawWithNulls(values: Typed, nulls: number[]): void {
    const v = this.next();
    copy(v, values);
    if (nulls.length === 0) return;
    const valid = new Validity(this.n);
    for (const r of nulls) valid.clear(r);
    valid.writeTo(v);
  }

  /** A fixed-width column of one field of rows [start, end), whose values `Column` holds as they are. */
  field(Column: Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor, buf: RowBuffer, field: number): void {
    const out = new Column(this.n);
    const { rows, stride } = buf;
    for (let r = 0, at = buf.at(this.start) + field; r < this.n; r++, at += stride) out[r] = rows[at];
    this.raw(out);
  }

  /** BIGINT nanoseconds from the (hi, lo) u32 halves in two fields, written as little-endian words. */
  nanos(buf: RowBuffer, hi: number, lo: number): void {
    const words = new Uint32Array(this.n * 2);
    const { rows, stride } = buf;
    for (let r = 0, at = buf.at(this.start); r < this.n; r++, at += stride) {
      words[2 * r] = rows[at + lo];
      words[2 * r + 1] = rows[at + hi];
    }
    this.raw(words);
  }

  /** DOUBLE from `value(i)`, NULL where it is NaN. */
  doubles(value: (i: number) => number): void {
    const out = new Float64Array(this.n);
    const valid = new Validity(this.n);
    for (let r = 0, i = this.start; r < this.n; r++, i++) {
      const x = value(i);
      if (Number.isNaN(x)) valid.clear(r);
      else out[r] = x;
    }
    const v = this.next();
    copy(v, out);
    valid.writeTo(v);
  }

  booleans(value: (i: number) => boolean): void {
    const out = new Uint8Array(this.n);
    for (let r = 0, i = this.start; r < this.n; r++, i++) out[r] = value(i) ? 1 : 0;
    this.raw(out);
  }

  /**
   * A one-character VARCHAR from a byte (always inline): the character
   * String.fromCharCode gives it, as UTF-8. Action and side bytes are ASCII
   * in valid data; a byte of 0x80 or more (a corrupt or newer file) is two
   * UTF-8 bytes, as DuckDB refuses a string that is not valid UTF-8.
   */
  chars(buf: RowBuffer, field: number): void {
    const codes = new Uint8Array(this.n);
    const { rows, stride } = buf;
    for (let r = 0, at = buf.at(this.start) + field; r < this.n; r++, at += stride) codes[r] = rows[at];
    this.charCodes(codes);
  }

  /** One-character VARCHARs from bytes, as chars() writes them. */
  charCodes(codes: Uint8Array): void {
    const out = new Uint32Array(this.n * 4);
    for (let r = 0; r < this.n; r++) {
      const c = codes[r];
      if (c < 0x80) {
        out[4 * r] = 1;
        out[4 * r + 1] = c;
      } else {
        out[4 * r] = 2;
        out[4 * r + 1] = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      }
    }
    this.raw(out);
  }

  /** A VARCHAR from `value(i)`; NULL for null; inline where short, assigned one by one otherwise. */
  strings(value: (i: number) => string | null): void {
    const v = this.next();
    const out = new Uint8Array(this.n * 16);
    const lengths = new DataView(out.buffer);
    const valid = new Validity(this.n);
    const long: Array<[number, string]> = [];
    // Rows interleave a few symbols: encode each distinct one once per chunk.
    const encoded = new Map<string, Uint8Array>();
    for (let r = 0, i = this.start; r < this.n; r++, i++) {
      const s = value(i);
      if (s === null) { valid.clear(r); continue; }
      let bytes = encoded.get(s);
      if (bytes === undefined) encoded.set(s, (bytes = utf8.encode(s)));
      if (bytes.length > INLINE_STRING_BYTES) { long.push([r, s]); continue; }
      lengths.setUint32(16 * r, bytes.length, true);
      out.set(bytes, 16 * r + 4);
    }
    copy(v, out);
    for (const [r, s] of long) duckdb.vector_assign_string_element(v, r, s);
    valid.writeTo(v);
  }

  /** UBIGINT from `value(i)` (a whole number below 2^53), NULL where it is NaN. */
  ubigints(value: (i: number) => number): void {
    const words = new Uint32Array(this.n * 2);
    const valid = new Validity(this.n);
    for (let r = 0, i = this.start; r < this.n; r++, i++) {
      const x = value(i);
      if (Number.isNaN(x)) valid.clear(r);
      else setU64(words, r, x);
    }
    const v = this.next();
    copy(v, words);
    valid.writeTo(v);
  }

  /**
   * A list column from one level field of the buffer: row i's list is the
   * present levels of that field, as DOUBLE prices in price units, UBIGINT
   * sizes or UINTEGER order counts.
   */
  levels(buf: SnapshotBuffer, field: LevelField, as: 'price' | 'u64' | 'u32'): void {
    const v = this.next();
    const slots = buf.rows;
    // (u64 offset, u64 length) per row, as little-endian u32 words: no BigInt per value.
    const entries = new Uint32Array(this.n * 4);
    let total = 0;
    for (let i = this.start; i < this.end; i++) total += buf.levelCount(i, field);
    const child = as === 'price' ? new Float64Array(total) : as === 'u64' ? new Uint32Array(total * 2) : new Uint32Array(total);
    let at = 0;
    for (let r = 0, i = this.start, base = buf.slot(this.start, field); r < this.n; r++, i++, base += buf.stride) {
      const k = buf.levelCount(i, field);
      setU64(entries, 2 * r, at);
      setU64(entries, 2 * r + 1, k);
      if (as === 'price') for (let j = 0; j < k; j++) child[at + j] = slots[base + j] / NANOS;
      else if (as === 'u64') for (let j = 0; j < k; j++) setU64(child as Uint32Array, at + j, slots[base + j]);
      else for (let j = 0; j < k; j++) child[at + j] = slots[base + j];
      at += k;
    }
    duckdb.list_vector_reserve(v, total);
    duckdb.list_vector_set_size(v, total);
    if (total > 0) copy(duckdb.list_vector_get_child(v), child);
    copy(v, entries);
  }
}


/** Writes a whole number below 2^53 as the little-endian u64 at `index`. */
export function setU64(words: Uint32Array, index: number, x: number): void {
  words[2 * index] = x % TWO_32;
  words[2 * index + 1] = Math.floor(x / TWO_32);
}

/** A validity mask, all valid until cleared; written only if some row is NULL. */
class Validity {
  private bits: Uint8Array | null = null;
  constructor(private readonly n: number) {}

  clear(row: number): void {
    this.bits ??= new Uint8Array(Math.ceil(this.n / 64) * 8).fill(0xff);
    this.bits[row >> 3] &= ~(1 << (row & 7));
  }

  writeTo(v: duckdb.Vector): void {
    if (this.bits === null) return;
    duckdb.vector_ensure_validity_writable(v);
    duckdb.copy_data_to_vector_validity(v, 0, this.bits.buffer as ArrayBuffer, 0, this.bits.byteLength);
  }
}

function copy(v: duckdb.Vector, a: Typed): void {
  if (a.byteLength > 0) duckdb.copy_data_to_vector(v, 0, a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
}

function keyColumns(f: ChunkFiller, b: RowBuffer, symbolOf: SymbolOf): void {
  f.nanos(b, KeyField.tsRecvHi, KeyField.tsRecvLo);
  f.nanos(b, KeyField.tsEventHi, KeyField.tsEventLo);
  f.field(Uint32Array, b, KeyField.instrumentId);
  f.field(Uint16Array, b, KeyField.publisherId);
  f.field(Uint32Array, b, KeyField.sequence);
  f.field(Uint16Array, b, KeyField.subSequence);
  f.strings((i) => symbolOf(b.instrumentId(i)));
}

/** Chunks for `book_snapshots` rows, in table column order (see schema.ts). */
export function* snapshotChunks(buf: SnapshotBuffer, types: DuckDBType[], symbolOf: SymbolOf): Generator<DuckDBDataChunk> {
  const d = buf.depth;
  for (let start = 0; start < buf.length; start += CHUNK_ROWS) {
    const f = new ChunkFiller(types, start, Math.min(buf.length, start + CHUNK_ROWS));
    const tops = Array.from({ length: f.n }, (_, r) => topOfBook(buf, start + r));
    const top = (i: number) => tops[i - start];
    keyColumns(f, buf, symbolOf);
    f.chars(buf, SnapshotField.action);
    f.chars(buf, SnapshotField.side);
    f.doubles((i) => buf.price(i) / NANOS);
    f.field(Uint32Array, buf, SnapshotField.size);
    f.field(Uint8Array, buf, SnapshotField.flags);
    f.field(Int32Array, buf, SnapshotField.tsInDelta);
    f.raw(new Uint16Array(f.n).fill(d));
    f.doubles((i) => top(i).bidPx);
    f.ubigints((i) => top(i).bidSz);
    f.doubles((i) => top(i).askPx);
    f.ubigints((i) => top(i).askSz);
    f.doubles((i) => top(i).spread);
    f.booleans((i) => top(i).crossed);
    f.booleans((i) => top(i).locked);
    f.levels(buf, BID_PX, 'price');
    f.levels(buf, BID_SZ, 'u64');
    f.levels(buf, BID_CT, 'u32');
    f.levels(buf, ASK_PX, 'price');
    f.levels(buf, ASK_SZ, 'u64');
    f.levels(buf, ASK_CT, 'u32');
    yield f.chunk;
  }
}

/** Chunks for `trades` rows, in table column order. */
export function* tradeChunks(buf: TradeBuffer, types: DuckDBType[], symbolOf: SymbolOf): Generator<DuckDBDataChunk> {
  for (let start = 0; start < buf.length; start += CHUNK_ROWS) {
    const f = new ChunkFiller(types, start, Math.min(buf.length, start + CHUNK_ROWS));
    keyColumns(f, buf, symbolOf);
    f.chars(buf, TradeField.side);
    f.doubles((i) => buf.price(i) / NANOS);
    f.field(Uint32Array, buf, TradeField.size);
    yield f.chunk;
  }
}
