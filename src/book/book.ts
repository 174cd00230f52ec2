import { u64Of } from '../u64.js';
import { Flag } from '../dbn/constants.js';
import type { MboView } from '../dbn/mbo.js';
import { Anomalies } from './anomalies.js';
import { ASK, BID, Order, orderKey, type PriceLevel, type SideIndex } from './level.js';
import { OrderIndex } from './order-index.js';
import { isCrossed, isLocked } from './snapshot.js';
import { BookSide } from './side.js';
import { MboOffset } from '../dbn/layout.js';

const A = 65, B = 66, C = 67, F = 70, M = 77, N = 78, R = 82, T = 84;

/**
 * Rows taken from one book that share (ts_recv, sequence) (several events or
 * trades in one exchange packet) are numbered 0, 1, ... so the store key stays
 * unique, and deterministic for any file containing those records. A
 * sequence that recurs at one ts_recv after another sequence continues its
 * own numbering (7/0, 8/0, 7/1): restarting at 0 would give a second row the
 * key of the first, and the store would keep one of them.
 */
export class KeyOrdinal {
  private hi = -1;
  private lo = -1;
  private sequence = -1;
  private n = 0;
  /** [sequence, last ordinal] of the other sequences seen at this ts_recv. */
  private readonly others: number[] = [];

  /** The ordinal of a row at ts_recv (hi, lo) and `sequence`; `lo` as a signed bit pattern (`| 0`), which stays a small integer in V8. */
  next(hi: number, lo: number, sequence: number): number {
    if (hi === this.hi && lo === this.lo) {
      if (sequence === this.sequence) return ++this.n;
      this.n = this.swap(sequence);
      this.sequence = sequence;
      return this.n;
    }
    this.hi = hi;
    this.lo = lo;
    this.sequence = sequence;
    if (this.others.length !== 0) this.others.length = 0; // the length setter is a call: skip it when empty
    return (this.n = 0);
  }

  /** Keeps the current sequence's ordinal and returns `sequence`'s next one (0 if new at this ts_recv). */
  private swap(sequence: number): number {
    const others = this.others;
    let next = 0;
    let current = -1;
    for (let k = 0; k < others.length; k += 2) {
      if (others[k] === sequence) next = others[k + 1] + 1;
      if (others[k] === this.sequence) current = k;
    }
    if (current >= 0) others[current + 1] = this.n;
    else others.push(this.sequence, this.n);
    return next;
  }
}

function sideOf(code: number): SideIndex | -1 {
  return code === B ? BID : code === A ? ASK : -1;
}

/**
 * The L3 book of one instrument on one publisher, per booktape's book
 * semantics (docs/design.md): price-time priority, FIFO levels, anomalies counted,
 * crossed books reported and kept.
 */
export class Book {
  readonly sides: [BookSide, BookSide] = [new BookSide(BID), new BookSide(ASK)];
  readonly orders = new OrderIndex();
  readonly anomalies = new Anomalies();
  /**
   * ts_recv of the last record applied, as 32-bit halves (no allocation);
   * the low half as a signed bit pattern, so that it stays a small integer
   * in V8 (a field that turns from small integer to double changes the
   * object's shape, and V8 throws away code compiled for the old one).
   */
  lastTsRecvHi = 0;
  lastTsRecvLo = 0;
  lastSequence = 0;
  records = 0;
  /** Sub-sequences for this book's snapshots and trades (see KeyOrdinal). */
  readonly snapshotOrdinal = new KeyOrdinal();
  readonly tradeOrdinal = new KeyOrdinal();
  /** Sub-sequences of its stored MBO events (MboEventBuffer). */
  readonly eventOrdinal = new KeyOrdinal();
  /** ts_recv (approximate ns) of its last L3 checkpoint, -1 before its first; and its records since. */
  checkpointedAt = -1;
  eventsSinceCheckpoint = 0;
  private nextPriority = 1;

  constructor(readonly instrumentId: number, readonly publisherId: number) {}

  get bids(): BookSide { return this.sides[BID]; }
  get asks(): BookSide { return this.sides[ASK]; }

  get lastTsRecv(): bigint {
    return u64Of(this.lastTsRecvHi, this.lastTsRecvLo);
  }

  /** Applies one MBO record. Returns true when it ends an exchange event (F_LAST). */
  apply(r: MboView): boolean {
    const o = r.offset;
    const lo = r.view.getInt32(o + MboOffset.tsRecv, true);
    const hi = r.view.getUint32(o + MboOffset.tsRecvHi, true);
    if (hi < this.lastTsRecvHi || (hi === this.lastTsRecvHi && lo >>> 0 < this.lastTsRecvLo >>> 0)) this.anomalies.ts_recv_backwards++;
    this.lastTsRecvLo = lo;
    this.lastTsRecvHi = hi;
    this.lastSequence = r.sequence;
    this.records++;
    const flags = r.flags;
    switch (r.action) {
      case A: this.add(r, flags); break;
      case C: this.cancel(r); break;
      case M: this.modify(r); break;
      case R: this.clear(); break;
      case T: case F: case N: break; // trades and fills change nothing; the C/M that follows does
      default: this.anomalies.unknown_action++;
    }
    if ((flags & Flag.LAST) === 0) return false;
    this.checkCross();
    return true;
  }

  private add(r: MboView, flags: number): void {
    const side = sideOf(r.side);
    if (side === -1) { this.anomalies.bad_side++; return; }
    if ((flags & Flag.TOB) !== 0) {
      // Top-of-book venues: the add replaces the whole side; UNDEF_PRICE empties it.
      for (const level of this.sides[side].levels) this.forgetOrders(level);
      if (r.isUndefPrice) this.sides[side].replaceWithTob(null, 0);
      else {
        const price = r.priceNanos;
        if (Number.isNaN(price)) { this.anomalies.bad_price++; return; }
        this.sides[side].replaceWithTob(price, r.size);
      }
      return;
    }
    const price = r.priceNanos;
    if (Number.isNaN(price)) { this.anomalies.bad_price++; return; }
    const size = r.size;
    if (size === 0) { this.anomalies.zero_size_add++; return; }
    const hi = r.orderKeyHi;
    const lo = r.orderKeyLo;
    const old = this.orders.get(hi, lo);
    if (old !== undefined) {
      this.anomalies.duplicate_add++;
      this.removeOrder(old);
    }
    this.insert(hi, lo, side, price, size);
  }

  private cancel(r: MboView): void {
    const order = this.orders.get(r.orderKeyHi, r.orderKeyLo);
    if (order === undefined) { this.anomalies.cancel_unknown++; return; }
    if (sideOf(r.side) !== order.side) this.anomalies.side_mismatch++;
    if (r.priceNanos !== order.level!.price) this.anomalies.price_mismatch++;
    const size = r.size;
    if (size >= order.size) {
      if (size > order.size) this.anomalies.over_cancel++;
      this.removeOrder(order);
    } else {
      order.level!.resize(order, order.size - size);
    }
  }

  private modify(r: MboView): void {
    const order = this.orders.get(r.orderKeyHi, r.orderKeyLo);
    const side = sideOf(r.side);
    const price = r.priceNanos;
    const size = r.size;
    if (order === undefined) {
      this.anomalies.modify_unknown++;
      if (side === -1) { this.anomalies.bad_side++; return; }
      if (Number.isNaN(price)) { this.anomalies.bad_price++; return; }
      if (size === 0) { this.anomalies.zero_size_add++; return; }
      this.insert(r.orderKeyHi, r.orderKeyLo, side, price, size);
      return;
    }
    if (size === 0) {
      this.anomalies.modify_to_zero++;
      this.removeOrder(order);
      return;
    }
    if (side === -1) { this.anomalies.bad_side++; return; }
    if (Number.isNaN(price)) { this.anomalies.bad_price++; return; }
    const level = order.level!;
    if (side !== order.side || price !== level.price || size > order.size) {
      // Loses priority: to the back of its (new) level.
      if (side !== order.side) this.anomalies.side_mismatch++;
      this.detach(order, level);
      order.side = side;
      order.size = size;
      order.priority = this.nextPriority++;
      order.queuedHi = this.lastTsRecvHi;
      order.queuedLo = this.lastTsRecvLo;
      this.levelFor(side, price).append(order);
    } else {
      // Same price, size down (or unchanged): keeps its place.
      level.resize(order, size);
    }
  }

  /** R: the book is emptied. */
  clear(): void {
    this.sides[BID].clear();
    this.sides[ASK].clear();
    this.orders.clear();
  }

  private insert(hi: number, lo: number, side: SideIndex, price: number, size: number): void {
    const order = new Order(hi, lo, side, size, this.nextPriority++, this.lastTsRecvHi, this.lastTsRecvLo);
    this.levelFor(side, price).append(order);
    this.orders.set(order);
  }

  /** The order level at `price`, for an order arriving there (an add, or a modify that moves it). */
  private levelFor(side: SideIndex, price: number): PriceLevel {
    const bookSide = this.sides[side];
    const level = bookSide.getOrCreate(price);
    if (!level.tob) return level;
    // A real order at a price held by a TOB level: the TOB level is stale.
    bookSide.removeLevel(level);
    return bookSide.getOrCreate(price);
  }

  private detach(order: Order, level: PriceLevel): void {
    level.remove(order);
    if (level.head === null) level.side.removeLevel(level);
  }

  private removeOrder(order: Order): void {
    this.detach(order, order.level!);
    this.orders.delete(order.keyHi, order.keyLo);
  }

  private forgetOrders(level: PriceLevel): void {
    for (let o = level.head; o !== null; o = o.next) this.orders.delete(o.keyHi, o.keyLo);
  }

  private checkCross(): void {
    const bid = this.sides[BID].bestPrice();
    const ask = this.sides[ASK].bestPrice();
    if (isCrossed(bid, ask)) this.anomalies.crossed++;
    else if (isLocked(bid, ask)) this.anomalies.locked++;
  }

  /**
   * Puts an order back at the back of its level, as a checkpoint lists it
   * (levels and queues in order): the book a stored checkpoint rebuilds.
   * `queued` is the ts_recv of its place in the queue; ids and instants as u32 halves.
   */
  restoreOrder(side: SideIndex, price: number, size: number, idHi: number, idLo: number, queuedHi: number, queuedLo: number): void {
    const order = new Order(idHi | 0, idLo | 0, side, size, this.nextPriority++, queuedHi, queuedLo | 0);
    this.levelFor(side, price).append(order);
    this.orders.set(order);
  }

  /** Puts a top-of-book (F_TOB) level back, as a checkpoint lists it. */
  restoreTob(side: SideIndex, price: number, size: number): void {
    this.sides[side].restoreTob(price, size);
  }

  /** Sets the last record applied (a restored checkpoint's): its ts_recv and sequence. */
  restoreLast(tsRecv: bigint, sequence: number): void {
    this.lastTsRecvHi = Number(tsRecv >> 32n);
    this.lastTsRecvLo = Number(BigInt.asIntN(32, tsRecv));
    this.lastSequence = sequence;
  }

  /** Size ahead of an order in its level's queue, or undefined if it is not live. */
  queuePosition(id: bigint): { level: PriceLevel; sizeAhead: number; ordersAhead: number } | undefined {
    const order = this.order(id);
    if (order === undefined) return undefined;
    let sizeAhead = 0;
    let ordersAhead = 0;
    for (let o = order.level!.head; o !== order && o !== null; o = o.next) {
      sizeAhead += o.size;
      ordersAhead++;
    }
    return { level: order.level!, sizeAhead, ordersAhead };
  }

  /** A live order by its exact u64 id. */
  order(id: bigint): Order | undefined {
    const [hi, lo] = orderKey(id);
    return this.orders.get(hi, lo);
  }
}
