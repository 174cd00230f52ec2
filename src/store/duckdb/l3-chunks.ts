/**
 * DuckDB data chunks for the L3 tables (see schema.ts): MBO records read
 * field by field from their bytes, and checkpoint rows from the engine's
 * rows, each column gathered into a typed array and copied in once, as
 * chunks.ts does for snapshots.
 */
import { BIGINT, UBIGINT, UINTEGER, USMALLINT, UTINYINT, INTEGER, VARCHAR, type DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import { MBO_RECORD_LENGTH, UNDEF_PRICE_HI, UNDEF_PRICE_LO } from '../../dbn/constants.js';
import { HeaderOffset, MboOffset } from '../../dbn/layout.js';
import type { MboEventBuffer } from '../../book/event-buffer.js';
import { CHECKPOINT_KINDS, CheckpointField, CheckpointKind, type CheckpointBuffer } from '../../book/checkpoint-buffer.js';
import { KeyField } from '../../book/row-buffer.js';
import type { SymbolOf } from '../port.js';
import { CHUNK_ROWS, ChunkFiller } from './chunks.js';

/** mbo_events' column types, in table order. */
export const MBO_EVENT_TYPES: DuckDBType[] = [
  BIGINT, BIGINT, USMALLINT, UINTEGER, VARCHAR, VARCHAR, BIGINT, UINTEGER, UTINYINT, UBIGINT, UTINYINT, INTEGER, UINTEGER, UINTEGER, VARCHAR,
];
/** order_checkpoints' column types, in table order. */
export const CHECKPOINT_TYPES: DuckDBType[] = [
  BIGINT, USMALLINT, UINTEGER, UINTEGER, UINTEGER, VARCHAR, UINTEGER, VARCHAR, VARCHAR, BIGINT, UINTEGER, UBIGINT, BIGINT,
];

/** Chunks for `mbo_events` rows: each record's fields as its bytes hold them. */
export function* mboEventChunks(buf: MboEventBuffer, symbolOf: SymbolOf): Generator<DuckDBDataChunk> {
  const v = buf.view;
  for (let start = 0; start < buf.length; start += CHUNK_ROWS) {
    const f = new ChunkFiller(MBO_EVENT_TYPES, start, Math.min(buf.length, start + CHUNK_ROWS));
    const n = f.n;
    /** A u64 or i64 field, as its two little-endian words (the column's own layout). */
    const words = (at: number) => {
      const out = new Uint32Array(2 * n);
      for (let r = 0, o = start * MBO_RECORD_LENGTH + at; r < n; r++, o += MBO_RECORD_LENGTH) {
        out[2 * r] = v.getUint32(o, true);
        out[2 * r + 1] = v.getUint32(o + 4, true);
      }
      return out;
    };
    const gather = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(out: T, read: (o: number) => number): T => {
      for (let r = 0, o = start * MBO_RECORD_LENGTH; r < n; r++, o += MBO_RECORD_LENGTH) out[r] = read(o);
      return out;
    };
    f.raw(words(MboOffset.tsRecv));
    f.raw(words(HeaderOffset.tsEvent));
    f.raw(gather(new Uint16Array(n), (o) => v.getUint16(o + HeaderOffset.publisherId, true)));
    f.raw(gather(new Uint32Array(n), (o) => v.getUint32(o + HeaderOffset.instrumentId, true)));
    f.charCodes(gather(new Uint8Array(n), (o) => v.getUint8(o + MboOffset.action)));
    f.charCodes(gather(new Uint8Array(n), (o) => v.getUint8(o + MboOffset.side)));
    const prices = words(MboOffset.price);
    const undefPrices: number[] = [];
    for (let r = 0; r < n; r++) if (prices[2 * r] === UNDEF_PRICE_LO && prices[2 * r + 1] === UNDEF_PRICE_HI) undefPrices.push(r);
    f.rawWithNulls(prices, undefPrices);
    f.raw(gather(new Uint32Array(n), (o) => v.getUint32(o + MboOffset.size, true)));
    f.raw(gather(new Uint8Array(n), (o) => v.getUint8(o + MboOffset.channelId)));
    f.raw(words(MboOffset.orderId));
    f.raw(gather(new Uint8Array(n), (o) => v.getUint8(o + MboOffset.flags)));
    f.raw(gather(new Int32Array(n), (o) => v.getInt32(o + MboOffset.tsInDelta, true)));
    f.raw(gather(new Uint32Array(n), (o) => v.getUint32(o + MboOffset.sequence, true)));
    f.raw(buf.subSequence.slice(start, start + n));
    f.strings((i) => symbolOf(buf.instrumentId(i)));
    yield f.chunk;
  }
}

/** Chunks for `order_checkpoints` rows. */
export function* checkpointChunks(buf: CheckpointBuffer, symbolOf: SymbolOf): Generator<DuckDBDataChunk> {
  for (let start = 0; start < buf.length; start += CHUNK_ROWS) {
    const f = new ChunkFiller(CHECKPOINT_TYPES, start, Math.min(buf.length, start + CHUNK_ROWS));
    const n = f.n;
    const notOrders: number[] = [];
    for (let r = 0; r < n; r++) if (buf.kind(start + r) !== CheckpointKind.order) notOrders.push(r);
    f.nanos(buf, KeyField.tsRecvHi, KeyField.tsRecvLo);
    f.field(Uint16Array, buf, KeyField.publisherId);
    f.field(Uint32Array, buf, KeyField.instrumentId);
    f.field(Uint32Array, buf, KeyField.sequence);
    f.field(Uint32Array, buf, KeyField.subSequence);
    f.strings((i) => symbolOf(buf.instrumentId(i)));
    f.field(Uint32Array, buf, CheckpointField.rank);
    f.strings((i) => CHECKPOINT_KINDS[buf.kind(i)]);
    f.chars(buf, CheckpointField.side);
    // Prices in 1e-9 units (|x| < 2^53, maybe negative) as i64 words; NULL on the book row.
    const prices = new Uint32Array(2 * n);
    const noPrice: number[] = [];
    for (let r = 0; r < n; r++) {
      const x = buf.price(start + r);
      if (Number.isNaN(x)) { noPrice.push(r); continue; }
      const hi = Math.floor(x / 2 ** 32);
      prices[2 * r] = x - hi * 2 ** 32;
      prices[2 * r + 1] = hi >>> 0;
    }
    f.rawWithNulls(prices, noPrice);
    f.field(Uint32Array, buf, CheckpointField.size);
    const ids = new Uint32Array(2 * n);
    const queued = new Uint32Array(2 * n);
    for (let r = 0; r < n; r++) {
      ids[2 * r] = buf.orderIdLo(start + r);
      ids[2 * r + 1] = buf.orderIdHi(start + r);
      queued[2 * r] = buf.queuedLo(start + r);
      queued[2 * r + 1] = buf.queuedHi(start + r);
    }
    f.rawWithNulls(ids, notOrders);
    f.rawWithNulls(queued, notOrders);
    yield f.chunk;
  }
}
