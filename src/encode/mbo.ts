import { ByteChunks, bytesOf, CSV_CHAR, field, FLUSH_BYTES, int, int64, JSON_CHAR, put } from './bytes.js';
import { MboView } from '../dbn/mbo.js';

/** An MBO record as a plain object, in Databento's JSON field order and names. */
export interface MboJson {
  ts_recv: string;
  ts_event: string;
  rtype: number;
  publisher_id: number;
  instrument_id: number;
  action: string;
  side: string;
  price: string;
  size: number;
  channel_id: number;
  order_id: string;
  flags: number;
  ts_in_delta: number;
  sequence: number;
}

/**
 * Databento's JSON shape with the header flattened (no `hd` object) and u64/i64
 * as decimal strings, as `dbn --json` writes them with pretty_px off.
 */
export function mboToJson(r: MboView): MboJson {
  return {
    ts_recv: r.tsRecv.toString(),
    ts_event: r.tsEvent.toString(),
    rtype: r.rtype,
    publisher_id: r.publisherId,
    instrument_id: r.instrumentId,
    action: String.fromCharCode(r.action),
    side: String.fromCharCode(r.side),
    price: r.priceRaw.toString(),
    size: r.size,
    channel_id: r.channelId,
    order_id: r.orderId.toString(),
    flags: r.flags,
    ts_in_delta: r.tsInDelta,
    sequence: r.sequence,
  };
}

export const MBO_CSV_COLUMNS = [
  'ts_recv', 'ts_event', 'rtype', 'publisher_id', 'instrument_id', 'action', 'side', 'price',
  'size', 'channel_id', 'order_id', 'flags', 'ts_in_delta', 'sequence',
] as const;

export function mboToCsvRow(r: MboView): string {
  const j = mboToJson(r);
  return MBO_CSV_COLUMNS.map((k) => String(j[k])).join(',');
}


const J_TS_RECV = bytesOf('{"ts_recv":'), J_TS_EVENT = bytesOf(',"ts_event":'), J_RTYPE = bytesOf(',"rtype":');
const J_PUBLISHER = bytesOf(',"publisher_id":'), J_INSTRUMENT = bytesOf(',"instrument_id":'), J_ACTION = bytesOf(',"action":');
const J_SIDE = bytesOf(',"side":'), J_PRICE = bytesOf(',"price":'), J_SIZE = bytesOf(',"size":'), J_CHANNEL = bytesOf(',"channel_id":');
const J_ORDER = bytesOf(',"order_id":'), J_FLAGS = bytesOf(',"flags":'), J_DELTA = bytesOf(',"ts_in_delta":');
const J_SEQUENCE = bytesOf(',"sequence":'), J_END = bytesOf('}\n');
const J_SYMBOL = bytesOf(',"symbol":'), J_SUB_SEQUENCE = bytesOf(',"sub_sequence":');
/** The most a line can take: 14 fields of at most 20 digits and their keys. */
const LINE_BYTES = 512;

/**
 * MBO records as `decode` prints them: the lines of mboToJson (JSON) and
 * mboToCsvRow (CSV), written as bytes straight from the record, with u64s
 * and prices made exact from their 32-bit halves rather than through bigints.
 */
export class MboTextWriter extends ByteChunks {
  constructor(private readonly format: 'json' | 'csv') {
    super(FLUSH_BYTES);
  }

  /**
   * Appends record `r` as one line. With `key` (JSON only: a stored record,
   * as an MBO replay writes it), the line ends with its `symbol` (as
   * Databento's JSON with mapped symbols has it) and `sub_sequence`, the last
   * part of its key, which a replay's `after` takes.
   */
  record(r: MboView, key?: { symbol: Uint8Array; subSequence: number }): void {
    this.reserve(LINE_BYTES + (key === undefined ? 0 : key.symbol.length));
    const json = this.format === 'json';
    const chars = json ? JSON_CHAR : CSV_CHAR;
    const v = r.view;
    const at = r.offset;
    const o = this.chunk;
    let p = this.pos;
    if (json) p = put(o, p, J_TS_RECV);
    p = int64(o, p, v.getUint32(at + 44, true), v.getUint32(at + 40, true), false, json);
    p = field(o, p, json, J_TS_EVENT);
    p = int64(o, p, v.getUint32(at + 12, true), v.getUint32(at + 8, true), false, json);
    p = field(o, p, json, J_RTYPE);
    p = int(o, p, v.getUint8(at + 1));
    p = field(o, p, json, J_PUBLISHER);
    p = int(o, p, v.getUint16(at + 2, true));
    p = field(o, p, json, J_INSTRUMENT);
    p = int(o, p, v.getUint32(at + 4, true));
    p = field(o, p, json, J_ACTION);
    p = put(o, p, chars[v.getUint8(at + 38)]);
    p = field(o, p, json, J_SIDE);
    p = put(o, p, chars[v.getUint8(at + 39)]);
    p = field(o, p, json, J_PRICE);
    p = int64(o, p, v.getUint32(at + 28, true), v.getUint32(at + 24, true), true, json);
    p = field(o, p, json, J_SIZE);
    p = int(o, p, v.getUint32(at + 32, true));
    p = field(o, p, json, J_CHANNEL);
    p = int(o, p, v.getUint8(at + 37));
    p = field(o, p, json, J_ORDER);
    p = int64(o, p, v.getUint32(at + 20, true), v.getUint32(at + 16, true), false, json);
    p = field(o, p, json, J_FLAGS);
    p = int(o, p, v.getUint8(at + 36));
    p = field(o, p, json, J_DELTA);
    p = int(o, p, v.getInt32(at + 48, true));
    p = field(o, p, json, J_SEQUENCE);
    p = int(o, p, v.getUint32(at + 52, true));
    if (json && key !== undefined) {
      p = put(o, put(o, p, J_SYMBOL), key.symbol);
      p = int(o, put(o, p, J_SUB_SEQUENCE), key.subSequence);
    }
    if (json) p = put(o, p, J_END);
    else o[p++] = 0x0a;
    this.pos = p;
  }
}
