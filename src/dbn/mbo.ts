import { ByteChunks, bytesOf, CSV_CHAR, field, FLUSH_BYTES, int, int64, JSON_CHAR, put, TWO_32 } from '../bytes.js';
import { UNDEF_PRICE_HI, UNDEF_PRICE_LO } from './constants.js';

/** Largest high word for which hi * 2^32 + lo is still an exact double. */
const MAX_SAFE_HI = 0x1fffff;

/**
 * A flyweight over one MBO record in a buffer: no allocation per record. The
 * hot path moves it with `at()` and reads only the fields it needs; u64 fields
 * are exposed both exactly (bigint) and as 32-bit halves for allocation-free keys.
 *
 * Layout (DBN MboMsg, 56 bytes): header(16) order_id u64@16 price i64@24
 * size u32@32 flags u8@36 channel_id u8@37 action u8@38 side u8@39
 * ts_recv u64@40 ts_in_delta i32@48 sequence u32@52.
 */
export class MboView {
  view!: DataView;
  offset = 0;

  at(view: DataView, offset: number): this {
    this.view = view;
    this.offset = offset;
    return this;
  }

  get rtype(): number { return this.view.getUint8(this.offset + 1); }
  get publisherId(): number { return this.view.getUint16(this.offset + 2, true); }
  get instrumentId(): number { return this.view.getUint32(this.offset + 4, true); }
  get tsEvent(): bigint { return this.view.getBigUint64(this.offset + 8, true); }
  get orderIdLo(): number { return this.view.getUint32(this.offset + 16, true); }
  get orderIdHi(): number { return this.view.getUint32(this.offset + 20, true); }
  get orderId(): bigint { return this.view.getBigUint64(this.offset + 16, true); }
  /** order_id's halves as signed 32-bit bit patterns: the book's keys (small integers in V8, never boxed). */
  get orderKeyLo(): number { return this.view.getInt32(this.offset + 16, true); }
  get orderKeyHi(): number { return this.view.getInt32(this.offset + 20, true); }
  get priceLo(): number { return this.view.getUint32(this.offset + 24, true); }
  get priceHi(): number { return this.view.getInt32(this.offset + 28, true); }
  get priceRaw(): bigint { return this.view.getBigInt64(this.offset + 24, true); }
  get size(): number { return this.view.getUint32(this.offset + 32, true); }
  get flags(): number { return this.view.getUint8(this.offset + 36); }
  get channelId(): number { return this.view.getUint8(this.offset + 37); }
  /** ASCII code of the action: A C M R T F N. */
  get action(): number { return this.view.getUint8(this.offset + 38); }
  /** ASCII code of the side: B A N. */
  get side(): number { return this.view.getUint8(this.offset + 39); }
  get tsRecv(): bigint { return this.view.getBigUint64(this.offset + 40, true); }
  /** ts_recv as a double: exact to ~256 ns, for interval arithmetic only. */
  get tsRecvApprox(): number {
    return this.view.getUint32(this.offset + 44, true) * TWO_32 + this.view.getUint32(this.offset + 40, true);
  }
  get tsInDelta(): number { return this.view.getInt32(this.offset + 48, true); }
  get sequence(): number { return this.view.getUint32(this.offset + 52, true); }

  get isUndefPrice(): boolean {
    return this.priceHi === UNDEF_PRICE_HI && this.priceLo === UNDEF_PRICE_LO;
  }

  /**
   * The price in 1e-9 units as an exact double, or NaN when it cannot be one
   * (outside [-2^53, 2^53), i.e. beyond ~9 million in price units, or UNDEF_PRICE).
   */
  get priceNanos(): number {
    const hi = this.priceHi;
    if (hi > MAX_SAFE_HI || hi < -MAX_SAFE_HI - 1) return NaN;
    return hi * TWO_32 + this.priceLo;
  }
}

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

  /** Appends record `r` as one line. */
  record(r: MboView): void {
    this.reserve(LINE_BYTES);
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
    if (json) p = put(o, p, J_END);
    else o[p++] = 0x0a;
    this.pos = p;
  }
}
