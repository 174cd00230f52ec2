import type { Order } from './level.js';

/**
 * Live orders by exact u64 id: an open-addressing hash table (linear probing,
 * backward-shift deletion) keyed on the id's two 32-bit halves, as signed
 * bit patterns (`orderKey`). No bigint and no allocation per lookup, whatever
 * the id's size: a JS Map would need a bigint or heap-number key for ids
 * above 2^31, which the engine bench showed to dominate the apply path.
 *
 * A probe compares the key held by the order itself: the order is read
 * next anyway, and separate key arrays were two more cache lines a lookup.
 */
export class OrderIndex {
  private slots: Array<Order | null>;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024) {
    const n = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.slots = new Array<Order | null>(n).fill(null);
    this.mask = n - 1;
  }

  private static hash(hi: number, lo: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  get(hi: number, lo: number): Order | undefined {
    const mask = this.mask;
    for (let i = OrderIndex.hash(hi, lo) & mask; ; i = (i + 1) & mask) {
      const o = this.slots[i];
      if (o === null) return undefined;
      if (o.keyLo === lo && o.keyHi === hi) return o;
    }
  }

  /** Inserts or replaces the order under its id. */
  set(order: Order): void {
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    const { keyHi: hi, keyLo: lo } = order;
    const mask = this.mask;
    for (let i = OrderIndex.hash(hi, lo) & mask; ; i = (i + 1) & mask) {
      const o = this.slots[i];
      if (o === null) {
        this.slots[i] = order;
        this.count++;
        return;
      }
      if (o.keyLo === lo && o.keyHi === hi) {
        this.slots[i] = order;
        return;
      }
    }
  }

  delete(hi: number, lo: number): void {
    const mask = this.mask;
    let i = OrderIndex.hash(hi, lo) & mask;
    for (; ; i = (i + 1) & mask) {
      const o = this.slots[i];
      if (o === null) return;
      if (o.keyLo === lo && o.keyHi === hi) break;
    }
    // Backward-shift: pull later entries of the probe run into the hole, so
    // lookups never need tombstones.
    for (let j = (i + 1) & mask; this.slots[j] !== null; j = (j + 1) & mask) {
      const moved = this.slots[j]!;
      const home = OrderIndex.hash(moved.keyHi, moved.keyLo) & mask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (between) continue;
      this.slots[i] = moved;
      i = j;
    }
    this.slots[i] = null;
    this.count--;
  }

  private grow(): void {
    const old = this.slots;
    const n = old.length * 2;
    this.slots = new Array<Order | null>(n).fill(null);
    this.mask = n - 1;
    this.count = 0;
    for (const o of old) if (o !== null) this.set(o);
  }

  clear(): void {
    this.slots.fill(null);
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  *values(): IterableIterator<Order> {
    for (const o of this.slots) if (o !== null) yield o;
  }
}
