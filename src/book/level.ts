import { u64Of } from '../u64.js';
import type { BookSide } from './side.js';

/** Bid or ask, as array indexes. */
export const BID = 0;
export const ASK = 1;
export type SideIndex = typeof BID | typeof ASK;

/**
 * A live order. Every field is a small integer or a pointer, so creating one
 * allocates nothing else: the id is kept as two signed 32-bit halves (an
 * unsigned half above 2^31, or a price in 1e-9 units, would be a boxed
 * number in V8), and the price is the level's.
 */
export class Order {
  prev: Order | null = null;
  next: Order | null = null;
  level: PriceLevel | null = null;
  constructor(
    /** The u64 order id as signed 32-bit halves (see `orderKey`): exact, and cheap to hash. */
    readonly keyHi: number,
    readonly keyLo: number,
    public side: SideIndex,
    public size: number,
    /** Arrival stamp in the book; a later stamp is behind in the queue. */
    public priority: number,
    /**
     * ts_recv of the record that gave the order its place in the queue (an
     * add, or a modify that lost priority), as 32-bit halves: the low one a
     * signed bit pattern, as Book keeps its own ts_recv.
     */
    public queuedHi: number,
    public queuedLo: number,
  ) {}

  get id(): bigint {
    return u64Of(this.keyHi, this.keyLo);
  }

  /** ts_recv (ns) at which the order took its place in its queue. */
  get queuedAt(): bigint {
    return u64Of(this.queuedHi, this.queuedLo);
  }

  /** 1e-9 units, exact: the price of the level it sits in (NaN once it has left the book). */
  get price(): number {
    return this.level === null ? NaN : this.level.price;
  }
}

/** An order id as the signed 32-bit halves [hi, lo] that Order and OrderIndex key on. */
export function orderKey(id: bigint): [number, number] {
  return [Number(BigInt.asIntN(32, id >> 32n)), Number(BigInt.asIntN(32, id))];
}

/**
 * One price on one side: a FIFO queue of orders (an intrusive doubly-linked
 * list, O(1) append and remove). Its price, total size and order count live
 * in its side's typed arrays at `index` (see BookSide), kept up to date by
 * `append`, `remove` and `resize`, so reading a level never walks its orders
 * and reading the top N levels touches no level object at all.
 *
 * A top-of-book level (from an F_TOB add) has a size but no orders, and
 * reports an order count of 0, as the spec requires.
 */
export class PriceLevel {
  head: Order | null = null;
  tail: Order | null = null;
  constructor(
    readonly side: BookSide,
    /** Where this level's price, size and count sit in its side's arrays; moves as levels come and go. */
    public index: number,
    readonly tob: boolean,
  ) {}

  get price(): number { return this.side.prices[this.index]; }
  get size(): number { return this.side.sizes[this.index]; }
  get count(): number { return this.side.counts[this.index]; }

  append(o: Order): void {
    o.level = this;
    o.prev = this.tail;
    o.next = null;
    if (this.tail === null) this.head = o;
    else this.tail.next = o;
    this.tail = o;
    const side = this.side;
    side.sizes[this.index] += o.size;
    side.counts[this.index]++;
  }

  remove(o: Order): void {
    if (o.prev === null) this.head = o.next;
    else o.prev.next = o.next;
    if (o.next === null) this.tail = o.prev;
    else o.next.prev = o.prev;
    o.prev = o.next = null;
    o.level = null;
    const side = this.side;
    side.sizes[this.index] -= o.size;
    side.counts[this.index]--;
  }

  /** Order `o`, in this level, now has `size`: the level's total follows. */
  resize(o: Order, size: number): void {
    this.side.sizes[this.index] += size - o.size;
    o.size = size;
  }
}
