import { TWO_32 } from '../u64.js';
import { UNDEF_PRICE_HI, UNDEF_PRICE_LO } from './constants.js';
import { HeaderOffset, MboOffset } from './layout.js';

/** Largest high word for which hi * 2^32 + lo is still an exact double. */
const MAX_SAFE_HI = 0x1fffff;

/**
 * A flyweight over one MBO record in a buffer: no allocation per record. The
 * hot path moves it with `at()` and reads only the fields it needs; u64 fields
 * are exposed both exactly (bigint) and as 32-bit halves for allocation-free keys.
 *
 * Layout (DBN MboMsg, 56 bytes; offsets named in layout.ts): header(16) order_id u64@16 price i64@24
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

  get rtype(): number { return this.view.getUint8(this.offset + HeaderOffset.rtype); }
  get publisherId(): number { return this.view.getUint16(this.offset + HeaderOffset.publisherId, true); }
  get instrumentId(): number { return this.view.getUint32(this.offset + HeaderOffset.instrumentId, true); }
  get tsEvent(): bigint { return this.view.getBigUint64(this.offset + HeaderOffset.tsEvent, true); }
  get orderIdLo(): number { return this.view.getUint32(this.offset + MboOffset.orderId, true); }
  get orderIdHi(): number { return this.view.getUint32(this.offset + MboOffset.orderIdHi, true); }
  get orderId(): bigint { return this.view.getBigUint64(this.offset + MboOffset.orderId, true); }
  /** order_id's halves as signed 32-bit bit patterns: the book's keys (small integers in V8, never boxed). */
  get orderKeyLo(): number { return this.view.getInt32(this.offset + MboOffset.orderId, true); }
  get orderKeyHi(): number { return this.view.getInt32(this.offset + MboOffset.orderIdHi, true); }
  get priceLo(): number { return this.view.getUint32(this.offset + MboOffset.price, true); }
  get priceHi(): number { return this.view.getInt32(this.offset + MboOffset.priceHi, true); }
  get priceRaw(): bigint { return this.view.getBigInt64(this.offset + MboOffset.price, true); }
  get size(): number { return this.view.getUint32(this.offset + MboOffset.size, true); }
  get flags(): number { return this.view.getUint8(this.offset + MboOffset.flags); }
  get channelId(): number { return this.view.getUint8(this.offset + MboOffset.channelId); }
  /** ASCII code of the action: A C M R T F N. */
  get action(): number { return this.view.getUint8(this.offset + MboOffset.action); }
  /** ASCII code of the side: B A N. */
  get side(): number { return this.view.getUint8(this.offset + MboOffset.side); }
  get tsRecv(): bigint { return this.view.getBigUint64(this.offset + MboOffset.tsRecv, true); }
  /** ts_recv as a double: exact to ~256 ns, for interval arithmetic only. */
  get tsRecvApprox(): number {
    return this.view.getUint32(this.offset + MboOffset.tsRecvHi, true) * TWO_32 + this.view.getUint32(this.offset + MboOffset.tsRecv, true);
  }
  get tsInDelta(): number { return this.view.getInt32(this.offset + MboOffset.tsInDelta, true); }
  get sequence(): number { return this.view.getUint32(this.offset + MboOffset.sequence, true); }

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
