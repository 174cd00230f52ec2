/**
 * Stored MBO records read back from a SELECT_MBO result chunk, column by
 * column as typed arrays (as snapshot-rows.ts reads snapshots), and written
 * out as the 56 bytes of each DBN MBO record: a replay of mbo_events is its
 * records' bytes, with no row object on the way.
 */
import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { MBO_RECORD_LENGTH, RType, UNDEF_PRICE } from '../../dbn/constants.js';
import { HeaderOffset, MboOffset } from '../../dbn/layout.js';
import type { MboEventBuffer } from '../../book/event-buffer.js';
import { isNull, strings, validity, vectorValues as values, type KeyColumns } from './snapshot-rows.js';

/** The query whose chunks MboRows reads; key columns first, action and side as character codes. */
export const SELECT_MBO = `SELECT ts_recv, ts_event, instrument_id, publisher_id, sequence, sub_sequence, symbol, ascii(action), ascii(side),
  price, size, channel_id, order_id, flags, ts_in_delta FROM mbo_events`;

export class MboRows implements KeyColumns {
  readonly length: number;
  readonly tsRecv: BigInt64Array;
  readonly tsEvent: BigInt64Array;
  readonly instrumentId: Uint32Array;
  readonly publisherId: Uint16Array;
  readonly sequence: Uint32Array;
  readonly subSequence: Uint32Array;
  readonly symbol: (string | null)[];
  readonly action: Int32Array;
  readonly side: Int32Array;
  readonly price: BigInt64Array;
  readonly priceValid: Uint8Array | null;
  readonly size: Uint32Array;
  readonly channelId: Uint8Array;
  readonly orderId: BigUint64Array;
  readonly flags: Uint8Array;
  readonly tsInDelta: Int32Array;

  constructor(chunk: DuckDBDataChunk) {
    const c = chunk.chunk;
    const n = (this.length = duckdb.data_chunk_get_size(c));
    const vector = (k: number) => duckdb.data_chunk_get_vector(c, k);
    this.tsRecv = values(vector(0), 8, n, BigInt64Array);
    this.tsEvent = values(vector(1), 8, n, BigInt64Array);
    this.instrumentId = values(vector(2), 4, n, Uint32Array);
    this.publisherId = values(vector(3), 2, n, Uint16Array);
    this.sequence = values(vector(4), 4, n, Uint32Array);
    this.subSequence = values(vector(5), 4, n, Uint32Array);
    this.symbol = strings(vector(6), n);
    this.action = values(vector(7), 4, n, Int32Array);
    this.side = values(vector(8), 4, n, Int32Array);
    this.price = values(vector(9), 8, n, BigInt64Array);
    this.priceValid = validity(vector(9), n);
    this.size = values(vector(10), 4, n, Uint32Array);
    this.channelId = values(vector(11), 1, n, Uint8Array);
    this.orderId = values(vector(12), 8, n, BigUint64Array);
    this.flags = values(vector(13), 1, n, Uint8Array);
    this.tsInDelta = values(vector(14), 4, n, Int32Array);
  }

  /** Appends row i to `out` as its DBN MBO record (and its sub-sequence). */
  writeRecord(i: number, out: MboEventBuffer): void {
    const v = out.view;
    const o = out.length * MBO_RECORD_LENGTH;
    v.setUint8(o + HeaderOffset.length, MBO_RECORD_LENGTH / 4);
    v.setUint8(o + HeaderOffset.rtype, RType.MBO);
    v.setUint16(o + HeaderOffset.publisherId, this.publisherId[i], true);
    v.setUint32(o + HeaderOffset.instrumentId, this.instrumentId[i], true);
    v.setBigInt64(o + HeaderOffset.tsEvent, this.tsEvent[i], true);
    v.setBigUint64(o + MboOffset.orderId, this.orderId[i], true);
    v.setBigInt64(o + MboOffset.price, isNull(this.priceValid, i) ? UNDEF_PRICE : this.price[i], true);
    v.setUint32(o + MboOffset.size, this.size[i], true);
    v.setUint8(o + MboOffset.flags, this.flags[i]);
    v.setUint8(o + MboOffset.channelId, this.channelId[i]);
    v.setUint8(o + MboOffset.action, this.action[i] & 0xff);
    v.setUint8(o + MboOffset.side, this.side[i] & 0xff);
    v.setBigInt64(o + MboOffset.tsRecv, this.tsRecv[i], true);
    v.setInt32(o + MboOffset.tsInDelta, this.tsInDelta[i], true);
    v.setUint32(o + MboOffset.sequence, this.sequence[i], true);
    out.subSequence[out.length++] = this.subSequence[i];
  }
}
