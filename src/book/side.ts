import { BID, PriceLevel, type SideIndex } from './level.js';

/** Levels a side has room for before its arrays first grow (they double). */
const INITIAL_LEVELS = 16;

/**
 * The price levels of one side, sorted so that the best level is LAST: most
 * activity is near the top, so inserts and removals there shift few entries,
 * and reading the top N walks N entries from the end.
 * Bids ascend (best = highest, last); asks descend (best = lowest, last).
 *
 * Level i's price, total size and order count are `prices[i]`, `sizes[i]`
 * and `counts[i]`, and its order queue is `levels[i]`. Keeping the figures in
 * typed arrays rather than in the level objects is what makes snapshots
 * cheap: the top N levels are read as contiguous doubles, with no object
 * loads, shape checks or boxed prices (a price in 1e-9 units is above 2^31,
 * so V8 keeps it in a heap box when it is an object field).
 */
export class BookSide {
  readonly levels: PriceLevel[] = [];
  // Declared here, set in the constructor: the two writes make V8 treat the
  // fields as mutable from the start. Set once, V8 would take them for
  // constants, and their first growth would throw away the snapshot code
  // compiled on that assumption, early in every run.
  prices: Float64Array;
  sizes: Float64Array;
  counts: Float64Array;
  constructor(readonly side: SideIndex) {
    this.prices = new Float64Array(INITIAL_LEVELS);
    this.sizes = new Float64Array(INITIAL_LEVELS);
    this.counts = new Float64Array(INITIAL_LEVELS);
  }

  /** Index of the level at `price`, or -(insertion point) - 1. */
  private search(price: number): number {
    const prices = this.prices;
    const n = this.levels.length;
    // Fast path: the top of the book.
    if (n > 0 && prices[n - 1] === price) return n - 1;
    const bid = this.side === BID;
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = prices[mid];
      if (p === price) return mid;
      if (bid ? p < price : p > price) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  find(price: number): PriceLevel | undefined {
    const i = this.search(price);
    return i >= 0 ? this.levels[i] : undefined;
  }

  getOrCreate(price: number): PriceLevel {
    const i = this.search(price);
    if (i >= 0) return this.levels[i];
    return this.insertAt(-i - 1, price, false);
  }

  /** A new, empty level at `at`; the better levels above it move up one. */
  private insertAt(at: number, price: number, tob: boolean): PriceLevel {
    const levels = this.levels;
    const n = levels.length;
    if (n === this.prices.length) this.grow();
    const { prices, sizes, counts } = this;
    const level = new PriceLevel(this, at, tob);
    levels.push(level);
    for (let j = n; j > at; j--) {
      const moved = levels[j - 1];
      moved.index = j;
      levels[j] = moved;
      prices[j] = prices[j - 1];
      sizes[j] = sizes[j - 1];
      counts[j] = counts[j - 1];
    }
    levels[at] = level;
    prices[at] = price;
    sizes[at] = 0;
    counts[at] = 0;
    return level;
  }

  removeLevel(level: PriceLevel): void {
    const levels = this.levels;
    const at = level.index;
    if (at < 0 || levels[at] !== level) return; // already gone (the side was cleared)
    const { prices, sizes, counts } = this;
    const n = levels.length - 1;
    for (let j = at; j < n; j++) {
      const moved = levels[j + 1];
      moved.index = j;
      levels[j] = moved;
      prices[j] = prices[j + 1];
      sizes[j] = sizes[j + 1];
      counts[j] = counts[j + 1];
    }
    levels.pop();
    level.index = -1;
  }

  private grow(): void {
    const n = this.prices.length * 2;
    const prices = new Float64Array(n);
    const sizes = new Float64Array(n);
    const counts = new Float64Array(n);
    prices.set(this.prices);
    sizes.set(this.sizes);
    counts.set(this.counts);
    this.prices = prices;
    this.sizes = sizes;
    this.counts = counts;
  }

  /** The whole side becomes one top-of-book level (F_TOB), or empty. */
  replaceWithTob(price: number | null, size: number): void {
    this.clear();
    if (price !== null) this.sizes[this.insertAt(0, price, true).index] = size;
  }

  /**
   * A top-of-book level at `price` beside the side's other levels, as a
   * checkpoint lists it (a real order at another price leaves a TOB level
   * in place). The price holds no level yet.
   */
  restoreTob(price: number, size: number): void {
    const i = this.search(price);
    if (i >= 0) throw new Error(`a level at ${price} exists already`);
    this.sizes[this.insertAt(-i - 1, price, true).index] = size;
  }

  clear(): void {
    for (const level of this.levels) level.index = -1;
    this.levels.length = 0;
  }

  best(): PriceLevel | undefined {
    const n = this.levels.length;
    return n > 0 ? this.levels[n - 1] : undefined;
  }

  /** The best price, or NaN when the side is empty. */
  bestPrice(): number {
    const n = this.levels.length;
    return n > 0 ? this.prices[n - 1] : NaN;
  }

  /** The i-th best level (0 = best). */
  nth(i: number): PriceLevel | undefined {
    const j = this.levels.length - 1 - i;
    return i >= 0 && j >= 0 ? this.levels[j] : undefined;
  }

  get depth(): number {
    return this.levels.length;
  }
}
